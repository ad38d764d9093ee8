package supervisor

import (
	"io"
	"os"
	"sync"
	"time"
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

// takenWait is how long a "stdin" request waits for the connection that
// holds stdin to end: a client that just detached is released a moment
// after its call ended.
const takenWait = 2 * time.Second

// attach lends the pipe to one connection; false if it is closed, or
// still taken after takenWait.
func (p *stdinPipe) attach() bool {
	deadline := time.Now().Add(takenWait)
	for {
		p.mu.Lock()
		switch {
		case p.closed:
			p.mu.Unlock()
			return false
		case !p.taken:
			p.taken = true
			p.mu.Unlock()
			return true
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// forward copies src into the container's stdin until src ends, then
// closes stdin unless keepOpen.
func (p *stdinPipe) forward(src io.Reader, keepOpen bool) {
	// Through a plain Writer: *os.File's ReadFrom would splice, through
	// a pipe pair pooled by the runtime, held beyond the attachment.
	_, _ = io.Copy(struct{ io.Writer }{p.w}, src)
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
