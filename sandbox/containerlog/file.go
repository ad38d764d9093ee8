package containerlog

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// markerMaxLen bounds a rotation marker entry, newline included.
const markerMaxLen = 160

// open opens the current file for appending, creating it if needed. When
// it ends in a torn line (a writer was killed mid-write), it is rotated
// away instead of appended to: log files only ever grow, so a follower's
// offsets stay valid, and the torn line stays last in its file, where
// readers skip it.
func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_RDWR|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("open container log: %w", err)
	}
	size, torn, err := checkTail(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("open container log %s: %w", w.path, err)
	}
	w.f, w.size, w.dirDirty = f, size, true
	if torn {
		return w.rotate("previous file ends in a torn line (its writer was killed)")
	}
	return nil
}

// checkTail returns f's size and whether its last line lacks its newline.
func checkTail(f *os.File) (size int64, torn bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	if !fi.Mode().IsRegular() {
		return 0, false, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() == 0 {
		return 0, false, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], fi.Size()-1); err != nil {
		return 0, false, fmt.Errorf("read tail: %w", err)
	}
	return fi.Size(), last[0] != '\n', nil
}

// rotate renames the current file to path+".1", replacing the older one,
// and starts a new current file with a marker entry giving the reason.
func (w *Writer) rotate(reason string) error {
	if w.prev != nil {
		w.prev.Close() // its file is being discarded; no need to sync it
	}
	w.prev, w.f = w.f, nil
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return fmt.Errorf("rotate container log: %w", err)
	}
	w.dirDirty = true
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("rotate container log: %w", err)
	}
	w.f, w.size = f, 0
	return w.appendMarker("log rotated: " + reason)
}

// appendMarker appends an entry of nucleusd's own (stream "nucleus") to
// the current file.
func (w *Writer) appendMarker(text string) error {
	marker := Entry{Time: w.stamp(), Stream: StreamNucleus, Content: []byte(text)}
	b, err := AppendEntry(make([]byte, 0, markerMaxLen), marker)
	if err != nil {
		return fmt.Errorf("container log %s: marker: %w", w.path, err)
	}
	return w.append(b)
}

// syncDir fsyncs the directory holding path, making renames durable.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
