package containerlog

import (
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Free space is looked at again after floorCheckEvery or after
// floorCheckBytes written, whichever comes first: a statfs per batch would
// cost a flooding container a syscall per write for nothing.
const (
	floorCheckEvery = 100 * time.Millisecond
	floorCheckBytes = 1 << 20
)

// diskFloor drops log output while the log's file system has less than
// min bytes free, so that a flood cannot take the space the daemon's
// records and exit statuses need; once space returns, a marker entry says
// how much was dropped. Guarded by the Writer's mu.
type diskFloor struct {
	min     int64
	free    func() (int64, error)
	checked time.Time
	written int64 // since the last check
	below   bool
	dropped int64 // bytes dropped since the last marker
}

// statfsFree returns the bytes available to unprivileged writers on the
// file system holding dir's entries.
func statfsFree(dir string) func() (int64, error) {
	return func() (int64, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return 0, err
		}
		return int64(st.Bavail) * st.Bsize, nil
	}
}

func newDiskFloor(path string, opts Options) *diskFloor {
	if opts.MinFreeBytes <= 0 {
		return nil
	}
	free := opts.FreeBytes
	if free == nil {
		free = statfsFree(filepath.Dir(path))
	}
	return &diskFloor{min: opts.MinFreeBytes, free: free}
}

// admit reports whether n more bytes may be written now; refused bytes are
// counted as dropped. A file system that cannot be asked is written to.
func (f *diskFloor) admit(n int, now time.Time) bool {
	f.written += int64(n)
	if now.Sub(f.checked) >= floorCheckEvery || f.written >= floorCheckBytes {
		free, err := f.free()
		f.checked, f.written = now, 0
		f.below = err == nil && free < f.min
	}
	if f.below {
		f.dropped += int64(n)
	}
	return !f.below
}

// marker returns the text of the entry that reports dropped output, or ""
// when nothing was dropped since the last one; it resets the count.
func (f *diskFloor) marker() string {
	if f.dropped == 0 {
		return ""
	}
	s := fmt.Sprintf("%d bytes of output dropped: less than %d bytes were free on disk ([limits] min_free_disk)", f.dropped, f.min)
	f.dropped = 0
	return s
}
