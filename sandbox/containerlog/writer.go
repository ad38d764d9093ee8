package containerlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// DefaultMaxBytes is the log size cap when Options.MaxBytes is 0 (kubelet's
// containerLogMaxSize default).
const DefaultMaxBytes = 10 << 20

// Options configures a Writer.
type Options struct {
	// MaxBytes caps the log on disk (current file plus path+".1"). 0 means
	// DefaultMaxBytes; it must leave room for two full entries per file.
	MaxBytes int64
	// MaxEntrySize is the most content bytes per entry, 1..MaxEntrySize;
	// 0 means MaxEntrySize. Smaller values are for tests.
	MaxEntrySize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MinFreeBytes, when positive, drops output while the log's file
	// system has less free space than this (a marker entry counts what was
	// dropped once space returns). FreeBytes reports the free space; nil
	// means statfs of the log's directory.
	MinFreeBytes int64
	FreeBytes    func() (int64, error)
}

// Writer writes one container's log. Its Stdout and Stderr writers may be
// used from different goroutines; each entry is written atomically and each
// stream stays in order.
type Writer struct {
	path     string
	fileCap  int64 // MaxBytes/2
	maxEntry int
	now      func() time.Time
	stdout   *StreamWriter
	stderr   *StreamWriter
	floor    *diskFloor // nil: no free-space floor

	mu       sync.Mutex  // guards the fields below and the files
	f        *os.File    // current file; nil after an error (reopened on next write)
	prev     *os.File    // the file rotated to .1 since the last Sync
	size     int64       // bytes in f
	last     time.Time   // newest timestamp written, to keep time non-decreasing
	dirDirty bool        // a file was created or renamed since the last Sync
	closed   atomic.Bool // set under mu; read without it by StreamWriter.Write
}

// NewWriter opens (or creates, mode 0600) the log at path for appending.
// The directory must exist. A file ending in a torn line (left by a killed
// writer) is rotated away first.
func NewWriter(path string, opts Options) (*Writer, error) {
	if opts.MaxEntrySize == 0 {
		opts.MaxEntrySize = MaxEntrySize
	}
	if opts.MaxEntrySize < 1 || opts.MaxEntrySize > MaxEntrySize {
		return nil, errdefs.InvalidArgument("container log %s: MaxEntrySize %d not in 1..%d", path, opts.MaxEntrySize, MaxEntrySize)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if least := minMaxBytes(opts.MaxEntrySize); opts.MaxBytes < least {
		return nil, errdefs.InvalidArgument("container log %s: MaxBytes %d below the minimum %d", path, opts.MaxBytes, least)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Writer{path: path, fileCap: opts.MaxBytes / 2, maxEntry: opts.MaxEntrySize, now: opts.Now, floor: newDiskFloor(path, opts)}
	w.stdout = newStreamWriter(w, StreamStdout)
	w.stderr = newStreamWriter(w, StreamStderr)
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// minMaxBytes is the smallest cap that fits, per file, a rotation marker and
// two entries of maxEntry content bytes.
func minMaxBytes(maxEntry int) int64 {
	return 2 * int64(markerMaxLen+2*(headerLen(StreamStdout)+maxEntry+1))
}

// Stdout returns the writer for the container's standard output.
func (w *Writer) Stdout() *StreamWriter { return w.stdout }

// Stderr returns the writer for the container's standard error.
func (w *Writer) Stderr() *StreamWriter { return w.stderr }

// Flush writes both streams' pending partial lines as P entries.
func (w *Writer) Flush() error {
	return errors.Join(w.stdout.Flush(), w.stderr.Flush())
}

// Sync makes everything written so far durable: it fsyncs the file rotated
// away since the last Sync, the current file and, after a rotation, the
// directory. Pending partial lines are not written; call Flush first.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return fmt.Errorf("sync container log %s: %w", w.path, os.ErrClosed)
	}
	return w.syncLocked()
}

// Close flushes pending partial lines as P entries, syncs and closes the
// log. Writes after Close fail; a second Close returns nil.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Swap(true) {
		return nil
	}
	err = errors.Join(err, w.syncLocked())
	if w.f != nil {
		err = errors.Join(err, w.f.Close())
		w.f = nil
	}
	if err != nil {
		return fmt.Errorf("close container log %s: %w", w.path, err)
	}
	return nil
}

func (w *Writer) syncLocked() error {
	var errs []error
	if w.prev != nil {
		errs = append(errs, w.prev.Sync(), w.prev.Close())
		w.prev = nil
	}
	if w.f != nil {
		errs = append(errs, w.f.Sync())
	}
	if w.dirDirty {
		err := syncDir(w.path)
		if err == nil {
			w.dirDirty = false
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync container log %s: %w", w.path, err)
	}
	return nil
}

// writeBatch stamps the entries in b (whole lines whose timestamp fields
// are blank) with the current time and appends them to the log with one
// write, rotating first when they would overflow the current file.
func (w *Writer) writeBatch(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return fmt.Errorf("write container log %s: %w", w.path, os.ErrClosed)
	}
	if w.floor != nil && !w.floor.admit(len(b), w.now()) {
		return nil
	}
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	if w.floor != nil {
		if text := w.floor.marker(); text != "" {
			if err := w.appendMarker(text); err != nil {
				return err
			}
		}
	}
	if w.size+int64(len(b)) > w.fileCap {
		if err := w.rotate(fmt.Sprintf("size cap of %d bytes reached, oldest output discarded first", 2*w.fileCap)); err != nil {
			return err
		}
	}
	stamp(b, w.stamp())
	return w.append(b)
}

// stamp returns the timestamp for the next entries: now, but never earlier
// than the last one written.
func (w *Writer) stamp() time.Time {
	t := w.now().UTC()
	if t.Before(w.last) {
		t = w.last
	}
	w.last = t
	return t
}

// append writes b to the current file. On error the file is dropped, so the
// next write reopens it (and rotates it away if the write tore a line).
func (w *Writer) append(b []byte) error {
	n, err := w.f.Write(b)
	w.size += int64(n)
	if err != nil {
		w.f.Close()
		w.f = nil
		return fmt.Errorf("write container log %s: %w", w.path, err)
	}
	return nil
}

// stamp fills the timestamp field of every entry in b.
func stamp(b []byte, t time.Time) {
	var ts [timeLen]byte
	t.AppendFormat(ts[:0], timeLayout)
	for len(b) >= timeLen {
		copy(b, ts[:])
		i := bytes.IndexByte(b[timeLen:], '\n')
		if i < 0 {
			return
		}
		b = b[timeLen+i+1:]
	}
}
