package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// ttyShell starts a detached TTY container running a shell.
func ttyShell(t *testing.T, c *client.Client, ctx context.Context, prompt string) *nucleusv1.Container {
	t.Helper()
	ct, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sh"}, Tty: true, Env: []string{"PS1=" + prompt}})
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// supervisorFds counts the open fds of container id's supervisor.
func supervisorFds(t *testing.T, d *Daemon, id string) int {
	t.Helper()
	pid, ok := supervisor.Running(filepath.Join(d.State, "supervisors", id))
	if !ok {
		t.Fatalf("no supervisor for %s", id)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// fdList names the supervisor's open fds, for a failure's message.
func fdList(d *Daemon, id string) string {
	pid, _ := supervisor.Running(filepath.Join(d.State, "supervisors", id))
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(dir)
	var names []string
	for _, fd := range fds {
		target, _ := os.Readlink(filepath.Join(dir, fd.Name()))
		names = append(names, fd.Name()+"->"+target)
	}
	return strings.Join(names, " ")
}

// waitOutput waits until buf shows sub.
func waitOutput(t *testing.T, buf *lockedBuffer, sub string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(buf.String(), sub) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output: %q", sub, buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// attachAsync attaches in the background; attached is closed once the
// daemon confirmed the attachment, done receives the outcome.
func attachAsync(ctx context.Context, c *client.Client, id string, opts client.AttachStreamOptions) (attached chan struct{}, done chan error) {
	attached, done = make(chan struct{}), make(chan error, 1)
	opts.Attached = func(*nucleusv1.Container) { close(attached) }
	go func() {
		_, err := c.Attach(ctx, id, opts)
		done <- err
	}()
	return attached, done
}

func awaitAttached(t *testing.T, attached chan struct{}, done chan error) {
	t.Helper()
	select {
	case <-attached:
	case err := <-done:
		t.Fatalf("attach ended before attaching: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("attach did not attach")
	}
}

// TestE2ETTYAttachHostile: another uid's attach is NotFound and writes
// nothing; a second attachment that wants stdin while one writes is
// FailedPrecondition (output-only ones are allowed and see the output);
// a resize of 65535 rows is clamped to 4096 and a zero side is kept; a
// client that half-closes keeps the shell alive and its stdin open; a
// client that vanishes leaves the container running, releases stdin for
// the next one, and leaves the supervisor with the fds it had before.
func TestE2ETTYAttachHostile(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[api]\nsocket_group = \"nogroup\"\n"})
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	c := d.Client()
	ctx := ctxT(t, 150*time.Second)
	id := ttyShell(t, c, ctx, "h$ ").GetId()
	time.Sleep(time.Second) // the shell is up
	fdsBefore := supervisorFds(t, d, id)

	res := asUser(t, d.Socket, nobody, nogroup, []uint32{nogroup}, childCall{Op: "attach", ID: id})
	if res[0].Kind != "NotFound" {
		t.Errorf("another uid's attach: %+v, want NotFound", res[0])
	}

	// The first attachment writes; it resizes to 65535 rows, 0 columns.
	ctx1, cancel1 := context.WithCancel(ctx)
	in1r, in1w := io.Pipe()
	out1 := &lockedBuffer{}
	resize := make(chan *nucleusv1.TerminalSize, 1)
	att1, done1 := attachAsync(ctx1, c, id, client.AttachStreamOptions{Stdin: in1r, Stdout: out1, Resize: resize})
	awaitAttached(t, att1, done1)

	if _, err := c.Attach(ctx, id, client.AttachStreamOptions{Stdin: strings.NewReader("echo second\n")}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("a second writing attachment: %v, want FailedPrecondition", err)
	}
	ctx3, cancel3 := context.WithCancel(ctx)
	out3 := &lockedBuffer{}
	att3, done3 := attachAsync(ctx3, c, id, client.AttachStreamOptions{Stdout: out3})
	awaitAttached(t, att3, done3)

	resize <- &nucleusv1.TerminalSize{Rows: 65535, Cols: 0}
	time.Sleep(500 * time.Millisecond)
	_, _ = in1w.Write([]byte("stty size\n"))
	waitOutput(t, out1, "4096 80")
	waitOutput(t, out3, "4096 80") // an output-only attachment sees it too

	// The writer vanishes (its call is cancelled mid-stream).
	cancel1()
	cancel3()
	for _, done := range []chan error{done1, done3} {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a cancelled attach did not end")
		}
	}
	// A half-closing client: its stdin ends, the container's does not.
	out4 := &lockedBuffer{}
	if _, err := c.Attach(ctxT(t, 3*time.Second), id, client.AttachStreamOptions{Stdin: strings.NewReader("echo half-$((5+5))\n"), Stdout: out4}); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errdefs.ErrDeadlineExceeded) {
		t.Logf("half-closed attach ended with %v", err)
	}
	waitOutput(t, out4, "half-10")
	ct, err := c.Get(ctx, id)
	if err != nil || ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("after the clients left: %v, state %v; want running", err, ct.GetState())
	}
	// stdin was released: the next writer gets it.
	ctx5, cancel5 := context.WithCancel(ctx)
	in5r, in5w := io.Pipe()
	out5 := &lockedBuffer{}
	att5, done5 := attachAsync(ctx5, c, id, client.AttachStreamOptions{Stdin: in5r, Stdout: out5})
	awaitAttached(t, att5, done5)
	_, _ = in5w.Write([]byte("echo alive-$((6*7))\n"))
	waitOutput(t, out5, "alive-42")
	cancel5()
	<-done5

	// Not more fds than before (fewer is fine: gVisor's own pidfds are
	// closed by finalizers once collected).
	deadline := time.Now().Add(10 * time.Second)
	for n := supervisorFds(t, d, id); n > fdsBefore; n = supervisorFds(t, d, id) {
		if time.Now().After(deadline) {
			t.Fatalf("supervisor has %d fds after the attachments, %d before: %s", n, fdsBefore, fdList(d, id))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
