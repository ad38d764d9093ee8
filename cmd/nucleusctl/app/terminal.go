package app

import (
	"context"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/term"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// localTerminal is the client's terminal while a remote process runs on
// one: in raw mode (keys go to the remote terminal as typed, Ctrl-C
// included) and watched for size changes. restore puts the settings back;
// callers defer it so that every way out (the exit, an error, a dropped
// daemon connection, SIGTERM ending the call) restores them.
type localTerminal struct {
	fd      int
	state   *term.State // nil when stdin is not a terminal
	size    *nucleusv1.TerminalSize
	resize  chan *nucleusv1.TerminalSize
	stopSig func()
	once    sync.Once
}

// openTerminal puts stdin in raw mode when it is a terminal and forwards
// its size changes (SIGWINCH) until ctx ends or restore.
func (g *globals) openTerminal(ctx context.Context, stdin io.Reader) (*localTerminal, error) {
	t := &localTerminal{fd: -1, resize: make(chan *nucleusv1.TerminalSize, 4), stopSig: func() {}}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return t, nil
	}
	t.fd = int(f.Fd())
	t.size = t.currentSize()
	state, err := term.MakeRaw(t.fd)
	if err != nil {
		return nil, err
	}
	t.state = state
	winch := make(chan os.Signal, 1)
	g.env.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	t.stopSig = func() {
		g.env.StopNotify(winch)
		close(done)
	}
	go func() {
		for {
			select {
			case <-winch:
				select {
				case t.resize <- t.currentSize():
				default: // a newer one follows
				}
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return t, nil
}

func (t *localTerminal) currentSize() *nucleusv1.TerminalSize {
	if t.fd < 0 {
		return nil
	}
	w, h, err := term.GetSize(t.fd)
	if err != nil {
		return nil
	}
	return &nucleusv1.TerminalSize{Rows: uint32(h), Cols: uint32(w)}
}

// restore stops watching the size and restores the terminal's settings.
// Later calls do nothing.
func (t *localTerminal) restore() {
	t.once.Do(func() {
		t.stopSig()
		if t.state != nil {
			_ = term.Restore(t.fd, t.state)
		}
	})
}

// stdinFd is r's fd when it is a terminal, else -1.
func stdinFd(r io.Reader) int {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return int(f.Fd())
	}
	return -1
}
