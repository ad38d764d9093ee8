package client_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/client/clienttest"
	"nucleus.dev/nucleus/internal/errdefs"
)

func newClient(t *testing.T, f *clienttest.Fake) *client.Client {
	t.Helper()
	c, err := client.New(context.Background(), f.Serve(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAddresses(t *testing.T) {
	ctx := context.Background()
	for _, addr := range []string{"unix:///run/x.sock", "/run/x.sock"} {
		c, err := client.New(ctx, addr)
		if err != nil {
			t.Errorf("New(%q): %v", addr, err)
			continue
		}
		c.Close()
	}
	for addr, sub := range map[string]string{
		"tcp://10.0.0.1:7000": "tcp needs mutual TLS",
		"tcp://10.0.0.1":      "want tcp://host:port",
		"unix://run/x.sock":   "must be absolute",
		"http://x":            "want unix:///path",
		"":                    "want unix:///path",
	} {
		_, err := client.New(ctx, addr)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), sub) {
			t.Errorf("New(%q) = %v, want InvalidArgument about %q", addr, err, sub)
		}
	}
	_, err := client.New(ctx, "tcp://h:1", client.WithTLS("", "", ""))
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("WithTLS without files: %v", err)
	}
	_, err = client.New(ctx, "tcp://h:1", client.WithTLS("/nonexistent/ca", "/nonexistent/c", "/nonexistent/k"))
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "key pair") {
		t.Errorf("WithTLS with missing files: %v", err)
	}
}

func TestUnreachableDaemon(t *testing.T) {
	c, err := client.New(context.Background(), "unix:///nonexistent/nucleusd.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Version(context.Background())
	if !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("err = %v, want Unavailable", err)
	}
	want := "cannot connect to nucleusd at unix:///nonexistent/nucleusd.sock: dial unix /nonexistent/nucleusd.sock: connect: no such file or directory (is nucleusd running?)"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestErrorKindsRestored(t *testing.T) {
	f := &clienttest.Fake{
		GetFunc: func(r *nucleusv1.GetRequest) (*nucleusv1.GetResponse, error) {
			return nil, errdefs.ToGRPC(errdefs.NotFound("no such container: %s", r.GetId()))
		},
		LogsFunc: func(*nucleusv1.LogsRequest, grpc.ServerStreamingServer[nucleusv1.LogsResponse]) error {
			return errdefs.ToGRPC(errdefs.FailedPrecondition("no logs"))
		},
		RunFunc: func(clienttest.Stream[nucleusv1.RunRequest, nucleusv1.RunResponse]) error {
			return errdefs.ToGRPC(errdefs.PermissionDenied("hook_paths are refused"))
		},
	}
	c := newClient(t, f)
	ctx := context.Background()
	_, err := c.Get(ctx, "web")
	if !errors.Is(err, errdefs.ErrNotFound) || err.Error() != "no such container: web" {
		t.Errorf("Get: %v", err)
	}
	err = c.Logs(ctx, &nucleusv1.LogsRequest{Id: "x"}, func(*nucleusv1.LogEntry) error { return nil })
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("Logs: %v", err)
	}
	_, _, err = c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"x"}}, client.RunOptions{})
	if !errors.Is(err, errdefs.ErrPermissionDenied) || err.Error() != "hook_paths are refused" {
		t.Errorf("Run: %v", err)
	}
	_, err = c.RunDetached(ctx, &nucleusv1.ContainerSpec{Args: []string{"x"}})
	if !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("RunDetached: %v", err)
	}
}

func TestRunAttachedStreamsStdinAndSignals(t *testing.T) {
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{
		ReadStdin: true, WaitSignals: 1, Stderr: "warn\n",
		Exit: &nucleusv1.ExitStatus{ExitCode: 7, Reason: "exited"},
	}.Serve}
	c := newClient(t, f)
	signals := make(chan uint32, 1)
	signals <- 2
	var stdout, stderr bytes.Buffer
	st, id, err := c.Run(context.Background(), &nucleusv1.ContainerSpec{Args: []string{"cat"}}, client.RunOptions{
		Stdin: strings.NewReader("hello\n"), Stdout: &stdout, Stderr: &stderr, Signals: signals,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetExitCode() != 7 || !strings.HasPrefix(id, "c1") || stdout.String() != "hello\n" || stderr.String() != "warn\n" {
		t.Errorf("Run = %v, %q, stdout %q, stderr %q", st, id, stdout.String(), stderr.String())
	}
	reqs := clienttest.RequestsOf[*nucleusv1.RunRequest](f)
	if len(reqs) < 3 || !reqs[0].GetStart().GetSpec().GetOpenStdin() || reqs[0].GetStart().GetDetach() {
		t.Fatalf("requests = %v", reqs)
	}
	var sawClose, sawSignal bool
	for _, r := range reqs[1:] {
		sawClose = sawClose || r.GetCloseStdin()
		sawSignal = sawSignal || r.GetSignal() == 2
	}
	if !sawClose || !sawSignal {
		t.Errorf("close_stdin %v, signal %v in %v", sawClose, sawSignal, reqs)
	}
}

func TestRunCancelReturnsID(t *testing.T) {
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{Block: true}.Serve}
	c := newClient(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, id, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"sleep"}}, client.RunOptions{})
	if err == nil || id == "" {
		t.Fatalf("Run = %q, %v; want the id and an error", id, err)
	}
}

func TestRunDetachedAndStartAttached(t *testing.T) {
	f := &clienttest.Fake{
		RunFunc: clienttest.RunScript{}.Serve,
		LogsFunc: func(r *nucleusv1.LogsRequest, s grpc.ServerStreamingServer[nucleusv1.LogsResponse]) error {
			return s.Send(&nucleusv1.LogsResponse{Entries: []*nucleusv1.LogEntry{
				{Stream: nucleusv1.LogStream_LOG_STREAM_STDOUT, Content: []byte("out\n")},
				{Stream: nucleusv1.LogStream_LOG_STREAM_STDERR, Content: []byte("err")},
			}})
		},
		WaitFunc: func(*nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
			return &nucleusv1.WaitResponse{Exit: &nucleusv1.ExitStatus{ExitCode: 3}}, nil
		},
	}
	c := newClient(t, f)
	ctx := context.Background()
	ctr, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Args: []string{"x"}})
	if err != nil || !strings.HasPrefix(ctr.GetId(), "c1") {
		t.Fatalf("RunDetached = %v, %v", ctr, err)
	}
	if r := clienttest.RequestsOf[*nucleusv1.RunRequest](f); !r[0].GetStart().GetDetach() {
		t.Errorf("detach not requested: %v", r)
	}
	var out, errOut bytes.Buffer
	st, err := c.StartAttached(ctx, "web", client.AttachOptions{Stdout: &out, Stderr: &errOut})
	if err != nil || st.GetExitCode() != 3 || out.String() != "out\n" || errOut.String() != "err\n" {
		t.Fatalf("StartAttached = %v, %v, %q, %q", st, err, out.String(), errOut.String())
	}
	logs := clienttest.RequestsOf[*nucleusv1.LogsRequest](f)
	if len(logs) != 1 || !logs[0].GetFollow() {
		t.Errorf("logs requests = %v", logs)
	}
}

func TestExecStatus(t *testing.T) {
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
		return s.Send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Exit{Exit: &nucleusv1.ExitStatus{ExitCode: 127, Reason: "not-found"}}})
	}}
	c := newClient(t, f)
	var out bytes.Buffer
	code, err := c.Exec(context.Background(), client.ExecOptions{
		ID: "web", Args: []string{"nope"}, Timeout: time.Second, Stdin: strings.NewReader("abc"), Stdout: &out,
	})
	if err != nil || code != 127 || out.String() != "abc" {
		t.Fatalf("Exec = %d, %v, %q", code, err, out.String())
	}
	start := clienttest.RequestsOf[*nucleusv1.ExecRequest](f)[0].GetStart()
	want := &nucleusv1.ExecStart{Id: "web", Args: []string{"nope"}, Stdin: true, Timeout: start.GetTimeout()}
	if !proto.Equal(start, want) || start.GetTimeout().AsDuration() != time.Second {
		t.Errorf("start = %v", start)
	}
}

func TestServerStreams(t *testing.T) {
	f := &clienttest.Fake{
		StatsFunc: func(r *nucleusv1.StatsRequest, s grpc.ServerStreamingServer[nucleusv1.StatsResponse]) error {
			s.Send(&nucleusv1.StatsResponse{Stats: []*nucleusv1.ContainerStats{{Id: "a"}}})
			return s.Send(&nucleusv1.StatsResponse{Stats: []*nucleusv1.ContainerStats{{Id: "b"}}})
		},
		EventsFunc: func(r *nucleusv1.EventsRequest, s grpc.ServerStreamingServer[nucleusv1.EventsResponse]) error {
			return s.Send(&nucleusv1.EventsResponse{Event: &nucleusv1.Event{Sequence: 9}})
		},
	}
	c := newClient(t, f)
	ctx := context.Background()
	var ids []string
	err := c.Stats(ctx, &nucleusv1.StatsRequest{Stream: true}, func(s []*nucleusv1.ContainerStats) error {
		ids = append(ids, s[0].GetId())
		return nil
	})
	if err != nil || strings.Join(ids, ",") != "a,b" {
		t.Errorf("Stats: %v, %v", ids, err)
	}
	stop := errors.New("stop")
	err = c.Events(ctx, &nucleusv1.EventsRequest{}, func(e *nucleusv1.EventsResponse) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Events: emit's error not returned: %v", err)
	}
}

func TestEntryOutput(t *testing.T) {
	for _, c := range []struct {
		e    *nucleusv1.LogEntry
		want string
	}{
		{&nucleusv1.LogEntry{Content: []byte("line\n")}, "line\n"},
		{&nucleusv1.LogEntry{Content: []byte("line")}, "line\n"},
		{&nucleusv1.LogEntry{Content: []byte("")}, "\n"},
		{&nucleusv1.LogEntry{Content: []byte("piece"), Partial: true}, "piece"},
	} {
		if got := string(client.EntryOutput(c.e)); got != c.want {
			t.Errorf("EntryOutput(%v) = %q, want %q", c.e, got, c.want)
		}
	}
}
