package gvisor

import (
	"fmt"
	"io"
	"os"

	"github.com/creack/pty"

	"nucleus.dev/nucleus/sandbox/runsc"
)

// newTerminalStdio opens a pseudo-terminal of size for an exec: its
// replica is the process's stdin, stdout and stderr (the sandbox imports
// it as a host TTY), stdin is copied to the master and the master's
// output to stdout.
func newTerminalStdio(size runsc.WinSize, stdin io.Reader, stdout io.Writer) (*stdio, error) {
	master, replica, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	s := &stdio{in: replica, out: replica, err: replica, ours: []*os.File{master}, master: master}
	s.resize(size)
	if stdin != nil {
		go func() { _, _ = io.Copy(master, stdin) }() // ends with its reader or the master
	}
	if stdout == nil {
		stdout = io.Discard
	}
	s.outputs.Add(1)
	go func() {
		defer s.outputs.Done()
		// EIO once every replica is closed: the process's end.
		_, _ = io.Copy(stdout, master)
	}()
	return s, nil
}

// resize sets the terminal's size (24x80 for zero values).
func (s *stdio) resize(ws runsc.WinSize) {
	if s.master == nil {
		return
	}
	if ws.Rows == 0 {
		ws.Rows = 24
	}
	if ws.Cols == 0 {
		ws.Cols = 80
	}
	_ = pty.Setsize(s.master, &pty.Winsize{Rows: ws.Rows, Cols: ws.Cols})
}
