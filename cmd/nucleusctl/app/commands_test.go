package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client/clienttest"
	"nucleus.dev/nucleus/internal/errdefs"
)

// notFound is the daemon's error for a missing container.
func notFound(id string) error {
	return errdefs.ToGRPC(errdefs.NotFound("no such container: %s", id))
}

func TestInspect(t *testing.T) {
	f := &clienttest.Fake{GetFunc: func(r *nucleusv1.GetRequest) (*nucleusv1.GetResponse, error) {
		if r.GetId() == "missing" {
			return nil, notFound(r.GetId())
		}
		return &nucleusv1.GetResponse{Container: clienttest.Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_RUNNING)}, nil
	}}
	r := cli(t, f, "inspect", "a", "missing", "b")
	r.wantCode(t, ExitFailure)
	if r.stderr != "nucleusctl: no such container: missing\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 || got[1]["state"] != "CONTAINER_STATE_RUNNING" {
		t.Errorf("inspect output %v (%v):\n%s", got, err, r.stdout)
	}
}

func TestLogs(t *testing.T) {
	ts := func(s int) *timestamppb.Timestamp {
		return timestamppb.New(testNow.Add(time.Duration(s) * time.Second))
	}
	out, errs := nucleusv1.LogStream_LOG_STREAM_STDOUT, nucleusv1.LogStream_LOG_STREAM_STDERR
	f := &clienttest.Fake{LogsFunc: func(r *nucleusv1.LogsRequest, s grpc.ServerStreamingServer[nucleusv1.LogsResponse]) error {
		// Times are sent even when not asked for: -t alone decides the
		// prefix. Complete lines come with and without their newline.
		withTime := func(t *timestamppb.Timestamp) *timestamppb.Timestamp { return t }
		s.Send(&nucleusv1.LogsResponse{Entries: []*nucleusv1.LogEntry{
			{Time: withTime(ts(1)), Stream: out, Content: []byte("hello\n")},
			{Time: withTime(ts(2)), Stream: out, Partial: true, Content: []byte("a long ")},
			{Time: withTime(ts(3)), Stream: errs, Content: []byte("oops")},
		}})
		return s.Send(&nucleusv1.LogsResponse{Entries: []*nucleusv1.LogEntry{
			{Time: withTime(ts(4)), Stream: out, Content: []byte("line")},
		}})
	}}
	r := cli(t, f, "logs", "web")
	r.wantCode(t, 0)
	if r.stdout != "hello\na long line\n" || r.stderr != "oops\n" {
		t.Errorf("logs: stdout %q stderr %q", r.stdout, r.stderr)
	}
	r = cli(t, f, "logs", "-f", "-t", "--tail", "5", "--since", "10m", "web")
	r.wantCode(t, 0)
	wantOut := "2026-05-06T12:00:01.000000000Z hello\n2026-05-06T12:00:02.000000000Z a long line\n"
	if r.stdout != wantOut || r.stderr != "2026-05-06T12:00:03.000000000Z oops\n" {
		t.Errorf("logs -t: stdout %q stderr %q", r.stdout, r.stderr)
	}
	reqs := clienttest.RequestsOf[*nucleusv1.LogsRequest](f)
	tail := int64(5)
	want := &nucleusv1.LogsRequest{Id: "web", Follow: true, Tail: &tail, Timestamps: true, Since: timestamppb.New(testNow.Add(-10 * time.Minute))}
	if !proto.Equal(reqs[1], want) || reqs[0].Tail != nil {
		t.Errorf("logs requests %v, want %v", reqs, want)
	}
	cli(t, f, "logs", "-n", "x", "web").wantCode(t, ExitFailure)
	cli(t, f, "logs", "--since", "yesterday", "web").wantCode(t, ExitFailure)
	cli(t, f, "logs").wantCode(t, ExitFailure)
}

func TestExec(t *testing.T) {
	f := &clienttest.Fake{ExecFunc: func(s clienttest.Stream[nucleusv1.ExecRequest, nucleusv1.ExecResponse]) error {
		first, err := s.Recv()
		if err != nil {
			return err
		}
		var in []byte
		for first.GetStart().GetStdin() {
			m, err := s.Recv()
			if err != nil {
				return err
			}
			if m.GetCloseStdin() {
				break
			}
			in = append(in, m.GetStdin()...)
		}
		s.Send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_ExecId{ExecId: "e1"}})
		s.Send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Stdout{Stdout: in}})
		code := int32(7)
		if first.GetStart().GetArgs()[0] == "nope" {
			return s.Send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Exit{Exit: &nucleusv1.ExitStatus{ExitCode: 127, Reason: "not-found"}}})
		}
		return s.Send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Exit{Exit: &nucleusv1.ExitStatus{ExitCode: code, Reason: "exited"}}})
	}}
	r := cliWith(t, f, invocation{stdin: "input", env: map[string]string{"TERM": "xterm"}},
		"exec", "-i", "-e", "A=1", "-e", "TERM", "-u", "1000", "-w", "/tmp", "web", "--", "cat", "-n")
	r.wantCode(t, 7)
	if r.stdout != "input" {
		t.Errorf("stdout = %q", r.stdout)
	}
	start := clienttest.RequestsOf[*nucleusv1.ExecRequest](f)[0].GetStart()
	want := &nucleusv1.ExecStart{Id: "web", Args: []string{"cat", "-n"}, Env: []string{"A=1", "TERM=xterm"},
		User: &nucleusv1.User{Uid: 1000}, Cwd: "/tmp", Stdin: true}
	if !proto.Equal(start, want) {
		t.Errorf("exec start = %v, want %v", start, want)
	}
	r = cli(t, f, "exec", "web", "nope")
	r.wantCode(t, 127)
	if r.stderr != "nucleusctl: exec in web ended: not-found\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
	cli(t, f, "exec", "web").wantCode(t, ExitFailure)
	cli(t, f, "exec", "web", "--").wantCode(t, ExitFailure)
	cli(t, f, "exec", "-u", "root", "web", "id").wantCode(t, ExitFailure)
}

func TestIDCommands(t *testing.T) {
	failMissing := func(id string) error {
		if id == "missing" {
			return notFound(id)
		}
		return nil
	}
	f := &clienttest.Fake{
		KillFunc: func(r *nucleusv1.KillRequest) (*nucleusv1.KillResponse, error) {
			return &nucleusv1.KillResponse{}, failMissing(r.GetId())
		},
		DeleteFunc: func(r *nucleusv1.DeleteRequest) (*nucleusv1.DeleteResponse, error) {
			return &nucleusv1.DeleteResponse{}, failMissing(r.GetId())
		},
		WaitFunc: func(r *nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
			return &nucleusv1.WaitResponse{Exit: &nucleusv1.ExitStatus{ExitCode: int32(len(r.GetId()))}}, failMissing(r.GetId())
		},
	}
	for _, c := range []struct {
		args   []string
		stdout string
		want   proto.Message
	}{
		{[]string{"kill", "web"}, "web\n", &nucleusv1.KillRequest{Id: "web", Signal: 9}},
		{[]string{"kill", "-s", "TERM", "web"}, "web\n", &nucleusv1.KillRequest{Id: "web", Signal: 15}},
		{[]string{"kill", "--signal", "SIGHUP", "web"}, "web\n", &nucleusv1.KillRequest{Id: "web", Signal: 1}},
		{[]string{"stop", "web"}, "web\n", &nucleusv1.StopRequest{Id: "web"}},
		{[]string{"stop", "-t", "5", "-s", "INT", "web"}, "web\n", &nucleusv1.StopRequest{Id: "web", GracePeriod: durationpb.New(5 * time.Second), Signal: 2}},
		{[]string{"stop", "--time", "0", "web"}, "web\n", &nucleusv1.StopRequest{Id: "web", GracePeriod: durationpb.New(0)}},
		{[]string{"rm", "web"}, "web\n", &nucleusv1.DeleteRequest{Id: "web"}},
		{[]string{"rm", "-f", "web"}, "web\n", &nucleusv1.DeleteRequest{Id: "web", Force: true}},
		{[]string{"pause", "web"}, "web\n", &nucleusv1.PauseRequest{Id: "web"}},
		{[]string{"resume", "web"}, "web\n", &nucleusv1.ResumeRequest{Id: "web"}},
		{[]string{"unpause", "web"}, "web\n", &nucleusv1.ResumeRequest{Id: "web"}},
		{[]string{"wait", "web"}, "3\n", &nucleusv1.WaitRequest{Id: "web"}},
		{[]string{"update", "--memory", "512m", "--cpus", "0.5", "--pids-limit", "10", "web"}, "web\n",
			&nucleusv1.UpdateRequest{Id: "web", Resources: &nucleusv1.Resources{MemoryBytes: 512 << 20, Cpus: 0.5, Pids: 10}}},
		{[]string{"update", "--cpus", "2", "web"}, "web\n", &nucleusv1.UpdateRequest{Id: "web", Resources: &nucleusv1.Resources{Cpus: 2}}},
	} {
		fake := &clienttest.Fake{KillFunc: f.KillFunc, DeleteFunc: f.DeleteFunc, WaitFunc: f.WaitFunc}
		r := cli(t, fake, c.args...)
		r.wantCode(t, 0)
		got := fake.Requests()
		if r.stdout != c.stdout || len(got) != 1 || !proto.Equal(got[0], c.want) {
			t.Errorf("%q: stdout %q, requests %v; want %q, %v", c.args, r.stdout, got, c.stdout, c.want)
		}
	}
	// Several ids: failures are reported one line each, the rest proceed.
	for _, cmd := range [][]string{{"rm"}, {"kill"}, {"wait"}} {
		r := cli(t, f, append(cmd, "a", "missing", "b")...)
		if r.code != ExitFailure || r.stderr != "nucleusctl: no such container: missing\n" || strings.Count(r.stdout, "\n") != 2 {
			t.Errorf("%v with a missing id: code %d stdout %q stderr %q", cmd, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"kill", "-s", "BOGUS", "web"}, {"kill"}, {"stop"}, {"rm"}, {"wait"}, {"pause"}, {"resume"},
		{"update", "web"}, {"update", "--memory", "x", "web"},
	} {
		cli(t, &clienttest.Fake{}, args...).wantCode(t, ExitFailure)
	}
}

func TestUnreachableAndTimeout(t *testing.T) {
	for _, args := range [][]string{{"ps"}, {"rm", "x"}, {"logs", "x"}, {"events"}, {"info"}} {
		r := cli(t, nil, args...)
		r.wantCode(t, ExitFailure)
		if !strings.Contains(r.stderr, "cannot connect to nucleusd") {
			t.Errorf("%v: stderr %q", args, r.stderr)
		}
	}
	block := make(chan struct{})
	defer close(block)
	f := &clienttest.Fake{WaitFunc: func(*nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
		<-block
		return &nucleusv1.WaitResponse{}, nil
	}}
	r := cli(t, f, "--timeout", "100ms", "wait", "web")
	r.wantCode(t, ExitFailure)
	if !strings.Contains(r.stderr, "timed out after 100ms (--timeout)") {
		t.Errorf("stderr = %q", r.stderr)
	}
	// An answer without an exit status prints no code.
	f = &clienttest.Fake{WaitFunc: func(*nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
		return &nucleusv1.WaitResponse{}, nil
	}}
	r = cli(t, f, "wait", "web")
	if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "without an exit status") {
		t.Errorf("wait answered without an exit: code %d, stdout %q, stderr %q; want a failure and no code", r.code, r.stdout, r.stderr)
	}
	// NUCLEUS_ADDRESS is the default address.
	f = &clienttest.Fake{}
	addr := f.Serve(t)
	r = cliWith(t, nil, invocation{env: map[string]string{"NUCLEUS_ADDRESS": addr}}, "ps")
	if r.code != ExitFailure { // --address given by cli() overrides the environment
		t.Fatalf("explicit --address must win over NUCLEUS_ADDRESS")
	}
	g := &globals{env: Env{LookupEnv: func(k string) (string, bool) { return addr, k == "NUCLEUS_ADDRESS" }}}
	root := newRootCommand(g)
	if got := root.PersistentFlags().Lookup("address").DefValue; got != addr {
		t.Errorf("--address default = %q, want NUCLEUS_ADDRESS %q", got, addr)
	}
	r = cli(t, nil, "--address", "tcp://127.0.0.1:1", "ps")
	r.wantCode(t, ExitFailure)
	if !strings.Contains(r.stderr, "mutual TLS") {
		t.Errorf("tcp without TLS: %q", r.stderr)
	}
}
