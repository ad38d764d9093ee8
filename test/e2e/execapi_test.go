package e2e

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/testutil"
)

// These tests talk to nucleusd with the generated stubs only
// (nucleusv1.NewNucleusClient over grpc.NewClient), as any gRPC client
// would: no helper from client/.

// stubConn connects to the daemon's socket with the generated stubs.
func stubConn(t *testing.T, d *Daemon) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+d.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// stubRunning starts a detached container running script with the stubs.
func stubRunning(t *testing.T, ctx context.Context, api nucleusv1.NucleusClient, script string) string {
	t.Helper()
	stream, err := api.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_Start{Start: &nucleusv1.RunStart{Spec: sh(script), Detach: true}}}); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	ct := resp.GetContainer()
	if ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("detached run: %v", resp)
	}
	return ct.GetId()
}

// execResult is everything an Exec stream answered.
type execResult struct {
	first  *nucleusv1.ExecResponse
	stdout strings.Builder
	stderr strings.Builder
	exit   *nucleusv1.ExitStatus
	err    error
}

// collectExec reads an Exec stream to its end; onStdout (if set) sees the
// stdout collected so far after each chunk.
func collectExec(stream nucleusv1.Nucleus_ExecClient, onStdout func(string)) *execResult {
	r := &execResult{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return r
		}
		if err != nil {
			r.err = err
			return r
		}
		if r.first == nil {
			r.first = resp
		}
		switch m := resp.GetMsg().(type) {
		case *nucleusv1.ExecResponse_Stdout:
			r.stdout.Write(m.Stdout)
			if onStdout != nil {
				onStdout(r.stdout.String())
			}
		case *nucleusv1.ExecResponse_Stderr:
			r.stderr.Write(m.Stderr)
		case *nucleusv1.ExecResponse_Exit:
			r.exit = m.Exit
		}
	}
}

// startExec opens an Exec stream and sends start.
func startExec(t *testing.T, ctx context.Context, api nucleusv1.NucleusClient, start *nucleusv1.ExecStart) nucleusv1.Nucleus_ExecClient {
	t.Helper()
	stream, err := api.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Start{Start: start}}); err != nil {
		t.Fatal(err)
	}
	return stream
}

// TestE2EExecStubsHalfClose: a client that sends start and half-closes
// (what grpcurl and any unary-style caller do) gets exec_id first, then
// the whole output and the real exit status; its half-close is the
// process's stdin EOF and nothing else.
func TestE2EExecStubsHalfClose(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	api := nucleusv1.NewNucleusClient(stubConn(t, d))
	ctx := ctxT(t, 90*time.Second)
	id := stubRunning(t, ctx, api, "sleep 60")

	// Output after a pause (a half-close treated as a cancel killed it
	// before it wrote), then a real exit code.
	stream := startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sh", "-c", "sleep 1; echo out; echo err >&2; exit 3"}})
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	r := collectExec(stream, nil)
	if r.err != nil || r.exit == nil {
		t.Fatalf("half-closed exec: %v, exit %v", r.err, r.exit)
	}
	if r.first.GetExecId() == "" {
		t.Errorf("first message %v, want exec_id", r.first)
	}
	if r.stdout.String() != "out\n" || r.stderr.String() != "err\n" {
		t.Errorf("output %q / %q", r.stdout.String(), r.stderr.String())
	}
	if r.exit.GetExitCode() != 3 || r.exit.GetSignal() != 0 || r.exit.GetReason() != "exited" {
		t.Errorf("exit %v, want code 3, no signal, reason exited", r.exit)
	}

	// With stdin: the chunks sent, then the half-close is cat's EOF.
	stream = startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sh", "-c", "cat; echo done"}, Stdin: true})
	for _, chunk := range []string{"one\n", "two\n"} {
		if err := stream.Send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Stdin{Stdin: []byte(chunk)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	r = collectExec(stream, nil)
	if r.err != nil || r.exit.GetExitCode() != 0 || r.stdout.String() != "one\ntwo\ndone\n" {
		t.Errorf("stdin then half-close: %v, exit %v, stdout %q", r.err, r.exit, r.stdout.String())
	}

	// A missing executable: 127, reason not-found, a message without the
	// error kind's prefix.
	stream = startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/no/such/binary"}})
	_ = stream.CloseSend()
	r = collectExec(stream, nil)
	if r.err != nil || r.exit.GetExitCode() != 127 || r.exit.GetReason() != "not-found" ||
		strings.HasPrefix(r.exit.GetMessage(), "invalid argument") || !strings.Contains(r.exit.GetMessage(), "/no/such/binary") {
		t.Errorf("missing executable: %v, exit %v", r.err, r.exit)
	}
}

// TestE2EExecStubsExitedContainer: an exec on an exited container with a
// half-close is FAILED_PRECONDITION every time (it raced to OK/137).
func TestE2EExecStubsExitedContainer(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	api := nucleusv1.NewNucleusClient(stubConn(t, d))
	ctx := ctxT(t, 90*time.Second)
	id := stubRunning(t, ctx, api, "exit 0")
	if _, err := api.Wait(ctx, &nucleusv1.WaitRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		stream := startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/true"}})
		_ = stream.CloseSend()
		r := collectExec(stream, nil)
		if status.Code(r.err) != codes.FailedPrecondition || r.exit != nil {
			t.Fatalf("try %d: exec on an exited container: %v, exit %v; want FAILED_PRECONDITION", i, r.err, r.exit)
		}
	}
}

// TestE2EExecStubsSignals: a signal message reaches the exec'd process
// (its trap runs) instead of killing it; a signal that ends it is
// reported; a bad number is INVALID_ARGUMENT; the exec's timeout and
// ExecSync's report SIGKILL; cancelling the call kills the process.
func TestE2EExecStubsSignals(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	api := nucleusv1.NewNucleusClient(stubConn(t, d))
	ctx := ctxT(t, 120*time.Second)
	id := stubRunning(t, ctx, api, "sleep 120")

	execSignalCases(t, ctx, api, id)

	// Not a signal number.
	stream := startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sleep", "60"}})
	if err := stream.Send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Signal{Signal: 99}}); err != nil {
		t.Fatal(err)
	}
	var r *execResult
	if r = collectExec(stream, nil); status.Code(r.err) != codes.InvalidArgument {
		t.Errorf("signal 99: %v, exit %v; want INVALID_ARGUMENT", r.err, r.exit)
	}

	// The exec's own timeout.
	stream = startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sleep", "60"}, Timeout: durationpb.New(time.Second)})
	_ = stream.CloseSend()
	if r = collectExec(stream, nil); r.err != nil || r.exit.GetExitCode() != 137 || r.exit.GetSignal() != 9 || r.exit.GetReason() != "timeout" {
		t.Errorf("exec timeout: %v, exit %v; want 137, signal 9, reason timeout", r.err, r.exit)
	}
	res, err := api.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: id, Args: []string{"/bin/sleep", "60"}, Timeout: durationpb.New(time.Second)})
	if err != nil || !res.GetTimedOut() || res.GetExitCode() != 137 || res.GetSignal() != 9 {
		t.Errorf("ExecSync timeout: %v, %v; want timed_out, 137, signal 9", res, err)
	}

	// Cancelling the call (not half-closing) kills the process: the file
	// it would write after a second never appears (where one can be written).
	if res, err := api.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: id, Args: []string{"/bin/sh", "-c", "touch /tmp/probe && test -e /tmp/probe"}}); err != nil || res.GetExitCode() != 0 {
		t.Fatalf("/tmp is not writable in the container: %v %v", res, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	stream = startExec(t, cctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sh", "-c", "echo ready; sleep 1; touch /tmp/survived"}})
	r = collectExec(stream, func(out string) {
		if strings.Contains(out, "ready") {
			cancel()
		}
	})
	cancel()
	if status.Code(r.err) != codes.Canceled {
		t.Errorf("cancelled exec: %v, exit %v", r.err, r.exit)
	}
	time.Sleep(2 * time.Second)
	res, err = api.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: id, Args: []string{"/bin/sh", "-c", "test -e /tmp/survived"}})
	if err != nil || res.GetExitCode() != 1 {
		t.Errorf("the cancelled exec went on (test -e: %v, %v)", res, err)
	}
}

// signalWhenReady returns an onStdout callback that sends sig once the
// process printed "ready".
func signalWhenReady(t *testing.T, stream nucleusv1.Nucleus_ExecClient, sig uint32) func(string) {
	sent := false
	return func(out string) {
		if !sent && strings.Contains(out, "ready") {
			sent = true
			if err := stream.Send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Signal{Signal: sig}}); err != nil {
				t.Errorf("sending signal %d: %v", sig, err)
			}
		}
	}
}

// execSignalCases: SIGINT to a process that traps it runs the trap (its
// exit code stands); SIGTERM to one without a handler ends it, reported
// as signal 15.
func execSignalCases(t *testing.T, ctx context.Context, api nucleusv1.NucleusClient, id string) {
	t.Helper()
	stream := startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sh", "-c",
		"trap 'echo trapped; exit 4' INT; echo ready; while :; do sleep 0.1; done"}})
	r := collectExec(stream, signalWhenReady(t, stream, 2))
	if r.err != nil || r.stdout.String() != "ready\ntrapped\n" || r.exit.GetExitCode() != 4 || r.exit.GetSignal() != 0 {
		t.Errorf("SIGINT with a trap: %v, stdout %q, exit %v; want the trap's output and exit 4", r.err, r.stdout.String(), r.exit)
	}
	stream = startExec(t, ctx, api, &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sh", "-c", "echo ready; exec sleep 60"}})
	r = collectExec(stream, signalWhenReady(t, stream, 15))
	if r.err != nil || r.exit.GetExitCode() != 143 || r.exit.GetSignal() != 15 || r.exit.GetReason() != "killed" {
		t.Errorf("SIGTERM: %v, exit %v; want 143, signal 15, reason killed", r.err, r.exit)
	}
}

// TestE2EExecStubsSignalsThroughRunsc: with a runsc nucleusd does not link
// (a wrapper script), signals reach the exec'd process through `runsc kill
// --pid`, with the same results.
func TestE2EExecStubsSignalsThroughRunsc(t *testing.T) {
	wrapper := filepath.Join(cliTempDir(t, "nucleus-runsc-wrapper-"), "runsc") // searchable: gofers start from runsc as an unprivileged uid
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+testutil.Runsc(t)+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := StartDaemon(t, DaemonOptions{Runsc: wrapper})
	api := nucleusv1.NewNucleusClient(stubConn(t, d))
	ctx := ctxT(t, 90*time.Second)
	id := stubRunning(t, ctx, api, "sleep 90")
	execSignalCases(t, ctx, api, id)
	if !strings.Contains(d.Log(), "exec and delete run a runsc process per call") {
		t.Error("exec did not go through runsc processes")
	}
}

// TestE2EStopEvents: Stop publishes KILLED with the signal it sent (a
// number), KILLED 9 when the grace period ran out, then EXITED; the exit
// message says what happened.
func TestE2EStopEvents(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	api := nucleusv1.NewNucleusClient(stubConn(t, d))
	ctx := ctxT(t, 120*time.Second)

	events := func(id string, n int) []*nucleusv1.Event {
		t.Helper()
		since := uint64(0)
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		stream, err := api.Events(ectx, &nucleusv1.EventsRequest{SinceSequence: &since, ContainerIds: []string{id},
			Types: []nucleusv1.EventType{nucleusv1.EventType_EVENT_TYPE_KILLED, nucleusv1.EventType_EVENT_TYPE_EXITED}})
		if err != nil {
			t.Fatal(err)
		}
		var evs []*nucleusv1.Event
		for len(evs) < n {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("events of %s: %v after %v", id, err, evs)
			}
			evs = append(evs, resp.GetEvent())
		}
		return evs
	}
	describe := func(evs []*nucleusv1.Event) string {
		var parts []string
		for _, ev := range evs {
			parts = append(parts, strings.TrimPrefix(ev.GetType().String(), "EVENT_TYPE_")+":"+ev.GetAttributes()["signal"])
		}
		return strings.Join(parts, ",")
	}

	// SIGTERM alone ends it.
	id := stubRunning(t, ctx, api, "trap 'exit 0' TERM; while :; do sleep 0.1; done")
	time.Sleep(300 * time.Millisecond)
	resp, err := api.Stop(ctx, &nucleusv1.StopRequest{Id: id, GracePeriod: durationpb.New(20 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.GetContainer().GetExit().GetMessage()
	if strings.Contains(msg, "SIGKILL") || !strings.Contains(msg, "SIGTERM") {
		t.Errorf("exit message %q after SIGTERM alone", msg)
	}
	if got := describe(events(id, 2)); got != "KILLED:15,EXITED:" {
		t.Errorf("events %s, want KILLED:15,EXITED:", got)
	}

	// The first signal given (SIGINT), ignored: SIGKILL after the grace period.
	id = stubRunning(t, ctx, api, "trap '' INT TERM; while :; do sleep 0.1; done")
	time.Sleep(300 * time.Millisecond)
	resp, err = api.Stop(ctx, &nucleusv1.StopRequest{Id: id, Signal: 2, GracePeriod: durationpb.New(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	msg = resp.GetContainer().GetExit().GetMessage()
	if !strings.Contains(msg, "SIGINT") || !strings.Contains(msg, "SIGKILL after the 1s grace period") || resp.GetContainer().GetExit().GetSignal() != 9 {
		t.Errorf("exit %v after the grace period ran out", resp.GetContainer().GetExit())
	}
	evs := events(id, 3)
	if got := describe(evs); got != "KILLED:2,KILLED:9,EXITED:9" {
		t.Errorf("events %s, want KILLED:2,KILLED:9,EXITED:9", got)
	}
	if evs[2].GetMessage() != msg || evs[2].GetAttributes()["reason"] != "killed" {
		t.Errorf("EXITED event %v, want the exit's message and reason", evs[2])
	}

	// Kill: the signal as a number too.
	id = stubRunning(t, ctx, api, "sleep 60")
	if _, err := api.Kill(ctx, &nucleusv1.KillRequest{Id: id, Signal: 9}); err != nil {
		t.Fatal(err)
	}
	if got := describe(events(id, 2)); got != "KILLED:9,EXITED:9" {
		t.Errorf("events %s after Kill, want KILLED:9,EXITED:9", got)
	}
}

// TestE2EHealthAndRunscVersion: the health service answers for "" and
// for nucleus.v1.Nucleus; Version and Info name runsc's real version.
func TestE2EHealthAndRunscVersion(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	conn := stubConn(t, d)
	ctx := ctxT(t, 30*time.Second)
	h := healthpb.NewHealthClient(conn)
	for _, name := range []string{"", "nucleus.v1.Nucleus"} {
		resp, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v; want SERVING", name, resp, err)
		}
	}
	if _, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "nucleus.v1.Nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("Check(unknown) = %v, want NOT_FOUND", err)
	}
	api := nucleusv1.NewNucleusClient(conn)
	bi, err := buildinfo.ReadFile(testutil.Runsc(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := api.Version(ctx, &nucleusv1.VersionRequest{})
	if err != nil || strings.Contains(v.GetRunscVersion(), "VERSION_MISSING") || !strings.Contains(v.GetRunscVersion(), bi.Main.Version) {
		t.Errorf("Version: runsc %q, %v; want the gvisor module version", v.GetRunscVersion(), err)
	}
	out, errOut, code := d.CtlRun("", "info")
	if code != 0 || strings.Contains(out, "VERSION_MISSING") || !strings.Contains(out, v.GetRunscVersion()) {
		t.Errorf("nucleusctl info (exit %d, %s):\n%s", code, errOut, out)
	}
}

// grpcurl builds the grpcurl pinned in go.mod (a tool) once per test
// process and returns its path.
func grpcurl(t *testing.T) string {
	t.Helper()
	v, _ := builds.LoadOrStore("tool:grpcurl", &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := binDir()
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "grpcurl")
		cmd := exec.Command("go", "build", "-o", b.path, "github.com/fullstorydev/grpcurl/cmd/grpcurl")
		cmd.Dir = testutil.RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build grpcurl: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// TestE2EGrpcurlExec: grpcurl, through the daemon's reflection, runs an
// Exec with -d (it sends start, then half-closes) and gets exec_id, the
// whole output and the real exit status; it checks health by name too.
func TestE2EGrpcurlExec(t *testing.T) {
	bin := grpcurl(t) // first: building it takes a while
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 90*time.Second)
	ct := running(t, c, ctx, "sleep 60")
	call := func(data, method string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, "-plaintext", "-unix", "-max-time", "60", "-d", data, d.Socket, method)
		out, err := cmd.Output()
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return string(out), err
	}

	out, err := call(`{"start": {"id": "`+ct.GetName()+`", "args": ["/bin/sh", "-c", "sleep 1; echo hello; echo oops >&2; exit 5"]}}`, "nucleus.v1.Nucleus/Exec")
	if err != nil {
		t.Fatalf("grpcurl Exec: %v\n%s", err, out)
	}
	type message struct {
		ExecID string `json:"execId"`
		Stdout []byte `json:"stdout"`
		Stderr []byte `json:"stderr"`
		Exit   *struct {
			ExitCode int    `json:"exitCode"`
			Signal   int    `json:"signal"`
			Reason   string `json:"reason"`
		} `json:"exit"`
	}
	var msgs []message
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m message
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("grpcurl output: %v\n%s", err, out)
		}
		msgs = append(msgs, m)
	}
	var stdout, stderr string
	for _, m := range msgs {
		stdout, stderr = stdout+string(m.Stdout), stderr+string(m.Stderr)
	}
	last := msgs[len(msgs)-1]
	if len(msgs) < 3 || msgs[0].ExecID == "" || stdout != "hello\n" || stderr != "oops\n" || last.Exit == nil ||
		last.Exit.ExitCode != 5 || last.Exit.Signal != 0 || last.Exit.Reason != "exited" {
		t.Errorf("grpcurl Exec answered:\n%s\nwant exec_id first, hello / oops, exit 5", out)
	}

	for _, name := range []string{"", "nucleus.v1.Nucleus"} {
		out, err := call(`{"service": "`+name+`"}`, "grpc.health.v1.Health/Check")
		if err != nil || !strings.Contains(out, `"SERVING"`) {
			t.Errorf("grpcurl health %q: %v\n%s", name, err, out)
		}
	}
}
