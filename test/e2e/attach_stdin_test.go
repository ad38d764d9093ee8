package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// catThenExit reads stdin to its end, says so and exits 7.
func catThenExit(t *testing.T, c *client.Client, ctx context.Context) string {
	t.Helper()
	spec := sh("cat; echo done; exit 7")
	spec.OpenStdin = true
	ct, err := c.RunDetached(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	return ct.GetId()
}

// rawAttach sends msgs on an Attach stream of its own (any gRPC client,
// not the SDK), half-closes it if asked, and returns once attached and,
// with until, once until approved a message that followed; the returned
// func hangs up (so does the test's end).
//
// A hang-up resets the stream, and gRPC's server drops what it had not
// read yet (a reset stream's Recv may answer Canceled before its buffered
// messages): what a client sent counts once nucleusd read it, which
// output it caused shows.
func rawAttach(t *testing.T, d *Daemon, ctx context.Context, halfClose bool, until func(*nucleusv1.AttachResponse) bool, msgs ...*nucleusv1.AttachRequest) (hangUp func()) {
	t.Helper()
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	stream, err := nucleusv1.NewAttachServiceClient(stubConn(t, d)).Attach(sctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if halfClose {
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.Recv(); err != nil { // the container, attached
		t.Fatal(err)
	}
	for until != nil {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("before the hang-up: %v", err)
		}
		if until(m) {
			break
		}
	}
	return cancel
}

// stdoutHas approves the first output that holds s.
func stdoutHas(s string) func(*nucleusv1.AttachResponse) bool {
	return func(m *nucleusv1.AttachResponse) bool { return strings.Contains(string(m.GetStdout()), s) }
}

// exited approves the exit, the stream's last message.
func exited(m *nucleusv1.AttachResponse) bool { return m.GetExit() != nil }

// stillRunning fails unless container id is running a second from now.
func stillRunning(t *testing.T, c *client.Client, ctx context.Context, id, why string) {
	t.Helper()
	time.Sleep(time.Second)
	ct, err := c.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("%s: container is %s, want still running", why, ct.GetState())
	}
}

// TestE2EAttachCloseStdin: an attachment's end (EOF of its input, a
// half-close, a hang-up) leaves the container's stdin open for the next
// one; close_stdin (the SDK's CloseStdinAtEOF, the shim's CloseIO) closes
// it for good, even when the client hangs up right after asking, and a
// flood of them is harmless; close_stdin without start.stdin changes
// nothing.
func TestE2EAttachCloseStdin(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 120*time.Second)

	id := catThenExit(t, c, ctx)
	out1 := &lockedBuffer{}
	ctx1, cancel1 := context.WithCancel(ctx)
	att1, done1 := attachAsync(ctx1, c, id, client.AttachStreamOptions{Stdin: strings.NewReader("one\n"), Stdout: out1})
	awaitAttached(t, att1, done1)
	waitOutput(t, out1, "one")
	stillRunning(t, c, ctx, id, "after an attachment's stdin ended without close_stdin")
	cancel1()
	<-done1

	out2 := &lockedBuffer{}
	ex, err := c.Attach(ctx, id, client.AttachStreamOptions{Stdin: strings.NewReader("two\n"), Stdout: out2, CloseStdinAtEOF: true})
	if err != nil {
		t.Fatal(err)
	}
	if ex.GetExitCode() != 7 || !strings.Contains(out2.String(), "two\ndone\n") {
		t.Fatalf("after close_stdin: exit %+v, output %q; want 7 and two, done", ex, out2.String())
	}

	// A client that hangs up right after asking (once its stdin came
	// back: nucleusd read what followed by then): stdin still closes.
	id = catThenExit(t, c, ctx)
	rawAttach(t, d, ctx, false, stdoutHas("three"),
		&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Start{Start: &nucleusv1.AttachStart{Id: id, Stdin: true}}},
		&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Stdin{Stdin: []byte("three\n")}},
		&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_CloseStdin{CloseStdin: true}})()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	w, err := c.Wait(wctx, id)
	if err != nil || w.GetExit().GetExitCode() != 7 {
		t.Fatalf("after close_stdin and a hang-up: %+v, %v; want exit 7", w.GetExit(), err)
	}
	lines, err := recStdoutLines(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines, "|"); got != "three|done" {
		t.Fatalf("stdout lines %q, want three|done", got)
	}

	// A half-close after stdin (the client is done sending, no
	// close_stdin) leaves the container's stdin open.
	id = catThenExit(t, c, ctx)
	halfClosed := rawAttach(t, d, ctx, true, nil,
		&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Start{Start: &nucleusv1.AttachStart{Id: id, Stdin: true}}},
		&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Stdin{Stdin: []byte("four\n")}})
	stillRunning(t, c, ctx, id, "a half-closed attachment without close_stdin")
	halfClosed()

	// A flood of close_stdin: the first closes stdin, the rest change
	// nothing, and the daemon keeps answering.
	flood := []*nucleusv1.AttachRequest{{Msg: &nucleusv1.AttachRequest_Start{Start: &nucleusv1.AttachStart{Id: id, Stdin: true}}}}
	for range 2000 {
		flood = append(flood, &nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_CloseStdin{CloseStdin: true}})
	}
	rawAttach(t, d, ctx, false, exited, flood...)()
	fctx, fcancel := context.WithTimeout(ctx, 20*time.Second)
	defer fcancel()
	if w, err := c.Wait(fctx, id); err != nil || w.GetExit().GetExitCode() != 7 {
		t.Fatalf("after 2000 close_stdin: %+v, %v; want exit 7", w.GetExit(), err)
	}
	if _, err := c.Version(ctx); err != nil {
		t.Fatalf("the daemon after the flood: %v", err)
	}

	// close_stdin from an attachment that did not ask for stdin: ignored.
	// Half-closed, so that nucleusd reads it before the hang-up.
	id = catThenExit(t, c, ctx)
	hangUp := rawAttach(t, d, ctx, true, nil,
		&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Start{Start: &nucleusv1.AttachStart{Id: id}}},
		&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_CloseStdin{CloseStdin: true}})
	stillRunning(t, c, ctx, id, "close_stdin without start.stdin")
	hangUp()
	// Its stdin is still there for a writer, and closes once asked.
	if _, err := c.Attach(ctx, id, client.AttachStreamOptions{Stdin: strings.NewReader(""), CloseStdinAtEOF: true}); err != nil {
		t.Fatal(err)
	}
	// Closed for good: a writing attachment of an exited container is refused.
	if _, err := c.Attach(ctx, id, client.AttachStreamOptions{Stdin: strings.NewReader("late\n")}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("attach to the exited container: %v, want FailedPrecondition", err)
	}
}
