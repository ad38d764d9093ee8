package containerdshim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// openOutput opens an output FIFO for writing. O_RDWR never blocks on a
// FIFO whose reader has not opened yet, and keeps the pipe open meanwhile:
// output written before containerd reads is buffered, not lost (a full
// pipe blocks the writer until containerd reads). Empty path: discard.
func openOutput(path string) (io.WriteCloser, error) {
	if path == "" {
		return nopWriteCloser{io.Discard}, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open output fifo %s: %w", path, err)
	}
	return f, nil
}

// openOutputs opens a process's stdout and stderr FIFOs (both or
// neither).
func openOutputs(paths stdio) (stdout, stderr io.WriteCloser, err error) {
	if stdout, err = openOutput(paths.stdout); err != nil {
		return nil, nil, err
	}
	if stderr, err = openOutput(paths.stderr); err != nil {
		stdout.Close()
		return nil, nil, err
	}
	return stdout, stderr, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// stdinReader opens the stdin FIFO lazily, on the first Read (opening a
// FIFO for reading blocks until containerd opens its end), and can be
// closed from CloseIO. What the client wrote before CloseIO may still sit
// in the FIFO (ctr writes its stdin, closes its end, then calls CloseIO):
// after Close, reads go on while data is there and end with EOF once none
// has come for stdinDrainWait (a writer that stays open, as the CRI
// plugin's may, does not hold the stream open).
type stdinReader struct {
	path string

	once   sync.Once
	mu     sync.Mutex
	f      *os.File
	closed bool
	err    error
}

// stdinDrainWait is how long a read after CloseIO waits for more data.
const stdinDrainWait = 100 * time.Millisecond

func (r *stdinReader) open() {
	f, err := os.OpenFile(r.path, os.O_RDONLY|syscall.O_CLOEXEC, 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f, r.err = f, err
	if r.closed && f != nil {
		// Closed before the FIFO was open: nothing was written (a
		// writer blocks until a reader is there).
		f.Close()
		r.err = io.EOF
	}
}

func (r *stdinReader) Read(p []byte) (int, error) {
	r.once.Do(r.open)
	r.mu.Lock()
	f, err, closed := r.f, r.err, r.closed
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if closed {
		// Draining: what is buffered comes at once, then EOF.
		if derr := f.SetReadDeadline(time.Now().Add(stdinDrainWait)); derr != nil {
			return 0, io.EOF
		}
	}
	n, err := f.Read(p)
	if err != nil {
		r.mu.Lock()
		closed = r.closed
		r.mu.Unlock()
		if closed || errors.Is(err, os.ErrDeadlineExceeded) {
			f.Close()
			return n, io.EOF
		}
	}
	return n, err
}

// Close ends the stream (CloseIO, or the process's exit) once what was
// written before it is read: a read blocked on an empty FIFO returns EOF
// within stdinDrainWait.
func (r *stdinReader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f != nil {
		if err := r.f.SetReadDeadline(time.Now().Add(stdinDrainWait)); err != nil {
			r.f.Close() // not pollable: end at once
		}
	}
}

// copyLogs follows the container's log from its first byte into stdout and
// stderr until the container exits and its output is drained. nucleusd's
// log is the supervisor's record of every byte (up to the operator's
// log_max_bytes), so nothing written before the shim (or containerd) reads
// is lost. Entries are buffered while more are queued and flushed when the
// queue runs dry: a flood costs few FIFO writes, a trickle no latency.
// progress counts the bytes written, for the caller's stall detection.
func copyLogs(ctx context.Context, c *client.Client, id string, stdout, stderr io.Writer, progress *atomic.Int64) error {
	type chunk struct {
		stderr bool
		b      []byte
	}
	queue := make(chan chunk, 4096)
	werr := make(chan error, 1)
	go func() {
		out, errw := bufio.NewWriterSize(stdout, 256<<10), bufio.NewWriterSize(stderr, 64<<10)
		var err error
		for ck := range queue {
			if err != nil {
				continue // drain, so the reader side ends
			}
			w := out
			if ck.stderr {
				w = errw
			}
			_, err = w.Write(ck.b)
			if err == nil && len(queue) == 0 {
				err = errors.Join(out.Flush(), errw.Flush())
			}
			progress.Add(int64(len(ck.b)))
		}
		if err == nil {
			err = errors.Join(out.Flush(), errw.Flush())
		}
		werr <- err
	}()
	err := c.Logs(ctx, &nucleusv1.LogsRequest{Id: id, Follow: true}, func(e *nucleusv1.LogEntry) error {
		queue <- chunk{stderr: e.GetStream() == nucleusv1.LogStream_LOG_STREAM_STDERR, b: client.EntryOutput(e)}
		return nil
	})
	close(queue)
	return errors.Join(err, <-werr)
}
