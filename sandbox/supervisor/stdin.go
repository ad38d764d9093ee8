package supervisor

import (
	"io"
	"os"
	"sync"
)

// stdinPipe is the container's stdin when it was created with OpenStdin:
// the supervisor keeps the write end, so stdin stays open across daemon
// restarts, and lends it to one "stdin" connection at a time.
type stdinPipe struct {
	mu     sync.Mutex
	w      *os.File
	taken  bool
	closed bool
	// terminal: w is a TTY container's terminal master; a connection
	// ending never closes it.
	terminal bool
}

func newStdinPipe() (*stdinPipe, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	return &stdinPipe{w: w}, r, nil
}

// attach lends the pipe to one connection; false if it is taken or closed.
func (p *stdinPipe) attach() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken || p.closed {
		return false
	}
	p.taken = true
	return true
}

// forward copies src into the container's stdin until src ends, then
// closes stdin unless keepOpen.
func (p *stdinPipe) forward(src io.Reader, keepOpen bool) {
	_, _ = io.Copy(p.w, src)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.taken = false
	if !keepOpen && !p.terminal && !p.closed {
		p.closed = true
		_ = p.w.Close()
	}
}

// closeAll closes stdin for good (the container has exited). A forward
// still copying gets an error and returns.
func (p *stdinPipe) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		_ = p.w.Close()
	}
}
