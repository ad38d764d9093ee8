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
// closed from CloseIO, which ends the Read with EOF.
type stdinReader struct {
	path string

	once   sync.Once
	mu     sync.Mutex
	f      *os.File
	closed bool
	err    error
}

func (r *stdinReader) open() {
	f, err := os.OpenFile(r.path, os.O_RDONLY|syscall.O_CLOEXEC, 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f, r.err = f, err
	if r.closed && f != nil {
		f.Close()
		r.err = io.EOF
	}
}

func (r *stdinReader) Read(p []byte) (int, error) {
	r.once.Do(r.open)
	r.mu.Lock()
	f, err, closed := r.f, r.err, r.closed
	r.mu.Unlock()
	if closed {
		return 0, io.EOF
	}
	if err != nil {
		return 0, err
	}
	n, err := f.Read(p)
	if err != nil {
		r.mu.Lock()
		closed = r.closed
		r.mu.Unlock()
		if closed {
			return n, io.EOF
		}
	}
	return n, err
}

// Close ends the stream (CloseIO, or the process's exit).
func (r *stdinReader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f != nil {
		r.f.Close()
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
