package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// countingWriter counts what an attached client received.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// TestE2ESupervisorOnOnePUnderFlood: a supervisor runs on one P; two
// containers that flood their stdout without end, each streamed to an
// attached client, must not make their supervisors slow to answer: Get
// answers within a second throughout, a signal sent through the Run stream
// (Ctrl-C) and a Kill end them within seconds, each with its own exit
// status, and the streams carried megabytes.
func TestE2ESupervisorOnOnePUnderFlood(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)

	type run struct {
		out  countingWriter
		sigs chan uint32
		id   chan string
		done chan *nucleusv1.ExitStatus
	}
	start := func() *run {
		r := &run{sigs: make(chan uint32, 1), id: make(chan string, 1), done: make(chan *nucleusv1.ExitStatus, 1)}
		go func() {
			ex, id, err := c.Run(ctx, sh("trap 'exit 7' INT; yes flood-flood-flood-flood & wait"), client.RunOptions{Stdout: &r.out, Signals: r.sigs})
			if err != nil {
				t.Errorf("flooding run %s: %v", id, err)
			}
			r.done <- ex
		}()
		return r
	}
	a, b := start(), start()
	var ids []string
	if !waitFor(30*time.Second, func() bool {
		list, err := c.List(ctx, nil)
		ids = ids[:0]
		for _, ct := range list {
			if ct.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
				ids = append(ids, ct.GetId())
			}
		}
		return err == nil && len(ids) == 2
	}) {
		t.Fatalf("two flooding containers not running: %v", ids)
	}
	// Flooding for a few seconds: every Get answers within a second.
	var slowest time.Duration
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); {
		for _, id := range ids {
			begin := time.Now()
			if _, err := c.Get(ctx, id); err != nil {
				t.Fatal(err)
			}
			slowest = max(slowest, time.Since(begin))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if slowest > time.Second {
		t.Errorf("Get took %v while the containers flooded", slowest)
	}
	t.Logf("while flooding: slowest Get %v; the streams carried %d and %d bytes", slowest, a.out.n.Load(), b.out.n.Load())
	if a.out.n.Load() < 1<<20 || b.out.n.Load() < 1<<20 {
		t.Errorf("the attached streams carried %d and %d bytes in 4 s, want megabytes", a.out.n.Load(), b.out.n.Load())
	}
	// Ctrl-C through one stream; then Kill for the other.
	wait := func(name string, r *run, want int32) {
		t.Helper()
		begin := time.Now()
		select {
		case ex := <-r.done:
			if ex.GetExitCode() != want {
				t.Errorf("run %s: exit %v, want %d", name, ex, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("run %s still streaming 20 s after its signal", name)
		}
		if took := time.Since(begin); took > 10*time.Second {
			t.Errorf("run %s took %v to end after its signal", name, took)
		}
	}
	a.sigs <- uint32(syscall.SIGINT)
	wait("a (Ctrl-C, trapped)", a, 7)
	list, err := c.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, ct := range list {
		if ct.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
			if err := c.Kill(ctx, ct.GetId(), uint32(syscall.SIGKILL)); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("%d containers running after the first ended, want 1", killed)
	}
	wait("b (killed)", b, 137)
}

// rawRun opens a Run stream with the generated stubs (any gRPC client, not
// the SDK), sends the start and half-closes at once.
func rawRun(t *testing.T, ctx context.Context, api nucleusv1.NucleusClient, script string) nucleusv1.Nucleus_RunClient {
	t.Helper()
	stream, err := api.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_Start{Start: &nucleusv1.RunStart{Spec: sh(script)}}}); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	return stream
}

// TestE2ESupervisorOnOnePRawClients: clients that are not the SDK against
// one-P supervisors under an output flood. A Run stream half-closed right
// after its start gets every byte of a 20 MB flood and the exit code; a
// Run stream cancelled mid-flood leaves the container running (killed
// later: 137 recorded), and its supervisor, reused, gives the next run its
// own output only.
func TestE2ESupervisorOnOnePRawClients(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	api := nucleusv1.NewNucleusClient(stubConn(t, d))
	ctx := ctxT(t, 3*time.Minute)

	const flood = 20_000_000
	stream := rawRun(t, ctx, api, fmt.Sprintf("yes half-closed | head -c %d; exit 3", flood))
	var got int
	var exit *nucleusv1.ExitStatus
	for exit == nil {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("half-closed run after %d bytes: %v", got, err)
		}
		got += len(resp.GetStdout())
		exit = resp.GetExit()
	}
	if got != flood || exit.GetExitCode() != 3 {
		t.Errorf("half-closed run: %d bytes, exit %v; want %d bytes, exit 3", got, exit, flood)
	}

	sctx, cancel := context.WithCancel(ctx)
	stream = rawRun(t, sctx, api, "yes cancelled")
	var id string
	for got = 0; got < 1<<20; {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.GetContainer(); ct != nil {
			id = ct.GetId()
		}
		got += len(resp.GetStdout())
	}
	cancel()
	time.Sleep(time.Second)
	if g, err := c.Get(ctx, id); err != nil || g.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("after its Run stream was cancelled: %v, %v; want it running", g.GetState(), err)
	}
	p := supervisorPid(t, d, id)
	if err := c.Kill(ctx, id, uint32(syscall.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	if g := recWaitState(t, c, id, recExited, time.Minute); g.GetExit().GetExitCode() != 137 {
		t.Fatalf("killed after its stream was cancelled: %v, want 137", g.GetExit())
	}
	if !waitFor(20*time.Second, func() bool { return isFree(d, p) }) {
		t.Fatalf("supervisor %d not free after its container", p)
	}
	next, err := c.RunDetached(ctx, sh("echo mine; exit 4"))
	if err != nil {
		t.Fatal(err)
	}
	if pid := supervisorPid(t, d, next.GetId()); pid != p {
		t.Logf("the next run got supervisor %d, not the freed %d (another was free too)", pid, p)
	}
	if g := recWaitState(t, c, next.GetId(), recExited, time.Minute); g.GetExit().GetExitCode() != 4 {
		t.Fatalf("next run: %v, want exit 4", g.GetExit())
	}
	if lines, err := recStdoutLines(ctx, c, next.GetId()); err != nil || strings.Join(lines, "") != "mine" {
		t.Errorf("next run's output %q (%v), want only its own", lines, err)
	}
}
