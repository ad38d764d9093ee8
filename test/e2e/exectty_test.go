package e2e

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// lockedBuffer is a bytes.Buffer safe to write and read concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestE2EExecTTY: an exec with tty runs on a terminal of the requested
// size, sees a resize, gets its input through the terminal and exits with
// its code; without tty a resize is refused.
func TestE2EExecTTY(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 120*time.Second)
	id := running(t, c, ctx, "sleep 600").GetId()
	pr, pw := io.Pipe()
	resize := make(chan *nucleusv1.TerminalSize, 1)
	out := &lockedBuffer{}
	done := make(chan error, 1)
	var code int
	go func() {
		var err error
		code, err = c.Exec(ctx, client.ExecOptions{ID: id, TTY: true, TerminalSize: &nucleusv1.TerminalSize{Rows: 30, Cols: 100},
			Resize: resize, Stdin: pr, Stdout: out,
			Args: []string{"/bin/sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; echo err >&2; stty size; read x; stty size; exit 3"}})
		done <- err
	}()
	waitFor := func(sub string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), sub) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the terminal's output %q", sub, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("30 100")
	resize <- &nucleusv1.TerminalSize{Rows: 40, Cols: 120}
	time.Sleep(500 * time.Millisecond) // the resize message goes first
	_, _ = pw.Write([]byte("go\n"))
	waitFor("40 120")
	select {
	case err := <-done:
		if err != nil || code != 3 {
			t.Fatalf("exec: code %d, %v", code, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the tty exec did not end")
	}
	got := out.String()
	if !strings.Contains(got, "on-a-tty") || !strings.Contains(got, "err\r\n") {
		t.Errorf("terminal output %q: want on-a-tty and stderr through the terminal (CRLF)", got)
	}
	// A resize without a terminal ends the call with InvalidArgument.
	stream, err := c.API().Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Start{Start: &nucleusv1.ExecStart{Id: id, Args: []string{"/bin/sleep", "5"}}}})
	_ = stream.Send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Resize{Resize: &nucleusv1.TerminalSize{Rows: 1, Cols: 1}}})
	for {
		_, err := stream.Recv()
		if err != nil {
			if !strings.Contains(err.Error(), "InvalidArgument") {
				t.Errorf("resize without tty: %v, want InvalidArgument", err)
			}
			break
		}
	}
}
