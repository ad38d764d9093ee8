package supervisor

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// flushAfter is how long a partial line (a prompt, a progress bar) waits for
// its newline before it is written as a P entry, so followers see it.
const flushAfter = 250 * time.Millisecond

// terminalFlushAfter is flushAfter for a terminal: an echoed key is a
// partial line, and an attached user waits for it.
const terminalFlushAfter = 20 * time.Millisecond

// drainTimeout bounds how long the supervisor waits, after the sandbox died,
// for the output pipes to reach EOF (a stray process could hold them open).
const drainTimeout = 2 * time.Second

// streamWriter is one stream of the container log.
type streamWriter interface {
	io.Writer
	Flush() error
}

// copier moves one output pipe into the log, never interpreting the bytes.
type copier struct {
	name string
	r    *os.File
	w    streamWriter
	log  *zap.Logger
	done chan struct{}
	// flush is how long a partial line waits for its newline.
	flush time.Duration
}

func startCopier(name string, r *os.File, w streamWriter, log *zap.Logger) *copier {
	return startCopierFlushing(name, r, w, log, flushAfter)
}

// startCopierFlushing is startCopier with its own wait for partial lines.
func startCopierFlushing(name string, r *os.File, w streamWriter, log *zap.Logger, flush time.Duration) *copier {
	c := &copier{name: name, r: r, w: w, log: log, done: make(chan struct{}), flush: flush}
	go c.run()
	return c
}

func (c *copier) run() {
	defer close(c.done)
	var mu sync.Mutex // serialises Flush from the timer with Write
	timer := time.AfterFunc(time.Hour, func() {
		mu.Lock()
		defer mu.Unlock()
		_ = c.w.Flush()
	})
	timer.Stop()
	defer timer.Stop()
	buf := make([]byte, 64<<10)
	logged := false
	for {
		n, err := c.r.Read(buf)
		if n > 0 {
			mu.Lock()
			_, werr := c.w.Write(buf[:n])
			mu.Unlock()
			if werr != nil && !logged {
				// Keep draining: a full or failing disk must not block
				// the container on a full pipe.
				c.log.Error("writing container log", zap.String("stream", c.name), zap.Error(werr))
				logged = true
			}
			timer.Reset(c.flush)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, os.ErrClosed) && !errors.Is(err, unix.EIO) {
				c.log.Warn("reading container output", zap.String("stream", c.name), zap.Error(err))
			}
			return // a terminal's master reads EIO once the sandbox closed its side
		}
	}
}

// drain, called once the sandbox is dead, waits until the copier has read
// everything left in the pipe (or reached EOF, or deadline), then stops it
// and closes the pipe. It does not wait for EOF: runsc's gofer holds the
// pipe's write end until it exits, tens of milliseconds after the sandbox,
// and writes nothing of the container's there.
func (c *copier) drain(deadline time.Time) {
	for time.Now().Before(deadline) && unread(c.r) > 0 {
		select {
		case <-c.done:
		case <-time.After(time.Millisecond):
		}
	}
	_ = c.r.SetReadDeadline(time.Now())
	<-c.done
	_ = c.r.Close()
}

// unread is the number of bytes waiting in pipe r (FIONREAD, alias TIOCINQ); 0 when it
// cannot tell.
func unread(r *os.File) int {
	n := 0
	if rc, err := r.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	}
	return n
}
