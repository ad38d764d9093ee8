package containerlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Follow waits for new output through ReadOptions.Watcher (one inotify
// instance shared by every follower), re-checking every safetyPoll in case
// an event is missed, and polls every pollInterval without one.
const (
	pollInterval = 100 * time.Millisecond
	safetyPoll   = time.Second
)

// follow emits new entries until ctx is cancelled or, once Done is closed,
// until the log is drained.
func (r *reader) follow(ctx context.Context) error {
	var changed <-chan struct{}
	if !r.opts.noInotify {
		c, unsubscribe := r.opts.Watcher.subscribe(r.path)
		defer unsubscribe()
		changed = c
	}
	interval := r.opts.pollInterval
	if interval == 0 {
		interval = pollInterval
		if changed != nil {
			interval = safetyPoll
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := r.catchUp(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.opts.Done:
			return r.catchUp(ctx)
		case <-changed:
		case <-tick.C:
		}
	}
}

// catchUp emits every complete entry written so far, moving on to the next
// file each time the current one has been rotated away.
func (r *reader) catchUp(ctx context.Context) error {
	for {
		if r.cur == nil { // nothing existed before: everything found is new
			old, cur, err := openPair(r.path)
			if err != nil || (old == nil && cur == nil) {
				return err
			}
			if old != nil && cur != nil {
				err := r.scan(ctx, old, newLineReader(old.f, -1), r.emit)
				old.f.Close()
				if err != nil {
					cur.f.Close()
					return err
				}
			}
			if cur == nil { // rotating right now: old is the newest file
				cur = old
			}
			cur.lr = newLineReader(cur.f, -1)
			r.cur = cur
		}
		lf := r.cur
		if err := r.scan(ctx, lf, lf.lr, r.emit); err != nil {
			return err
		}
		fi, err := os.Stat(r.path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("follow container log: %w", err)
		}
		if err == nil && os.SameFile(fi, lf.fi) {
			return nil
		}
		// Rotated away: the writer finished the file before renaming it.
		if err := r.scan(ctx, lf, lf.lr, r.emit); err != nil {
			return err
		}
		next, err := successor(r.path, lf.fi)
		if err != nil || next == nil {
			return err // nil, nil: the writer is between rename and create
		}
		lf.f.Close()
		next.lr = newLineReader(next.f, -1)
		r.cur = next
	}
}

// successor opens the file that followed prev, which has been rotated away
// from path. It returns nil, nil while path does not exist yet. When prev
// has already been discarded too, it returns the oldest file left: the
// entries in between are lost.
func successor(path string, prev os.FileInfo) (*logFile, error) {
	for {
		fi, err := os.Stat(path + ".1")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("follow container log: %w", err)
		}
		if err != nil || !os.SameFile(fi, prev) {
			if lf, err := openLog(path + ".1"); lf != nil || err != nil {
				return lf, err
			}
			return openLog(path) // the log was removed; follow a new one
		}
		// prev is path+".1", so path is its successor, unless one more
		// rotation happens before we have opened it.
		lf, err := openLog(path)
		if lf == nil || err != nil {
			return nil, err
		}
		if fi, err := os.Stat(path + ".1"); err == nil && os.SameFile(fi, prev) {
			return lf, nil
		}
		lf.f.Close()
	}
}

// openPair opens path+".1" and path as one consistent snapshot: the first
// is the predecessor of the second. Either may be nil (missing).
func openPair(path string) (old, cur *logFile, err error) {
	for {
		if old, err = openLog(path + ".1"); err != nil {
			return nil, nil, err
		}
		if cur, err = openLog(path); err != nil {
			closeLog(old)
			return nil, nil, err
		}
		fi, err := os.Stat(path + ".1")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			closeLog(old)
			closeLog(cur)
			return nil, nil, fmt.Errorf("read container log: %w", err)
		}
		if (old == nil && err != nil) || (old != nil && err == nil && os.SameFile(fi, old.fi)) {
			return old, cur, nil
		}
		closeLog(old) // rotated while opening: try again
		closeLog(cur)
	}
}

// openLog opens a log file for reading; nil, nil when it does not exist.
func openLog(name string) (*logFile, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read container log: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file", name)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read container log: %w", err)
	}
	return &logFile{f: f, fi: fi}, nil
}

func closeLog(lf *logFile) {
	if lf != nil {
		lf.f.Close()
	}
}
