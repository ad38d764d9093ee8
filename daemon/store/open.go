package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// Open opens (or creates, mode 0600) the store at path. It waits up to
// opts.LockTimeout for a lock held by another process, then fails with an
// Unavailable error. A file that cannot be opened or fails the consistency
// check is moved to <path>.corrupt-<timestamp> and replaced by an empty
// store; Info().Rebuilt then tells the caller to rebuild its records. Only
// I/O errors, a lock held elsewhere, or a store written by a newer nucleusd
// make Open fail.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	lock, err := acquireLock(path+".lock", opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	s, err := openLocked(path, opts)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func openLocked(path string, opts Options) (*Store, error) {
	var info OpenInfo
	switch fi, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		info.Created = true
	case err != nil:
		return nil, fmt.Errorf("store: %w", ioError(err))
	case fi.Size() == 0:
		info.Created = true
	}
	db, reason, err := openChecked(path, opts, 1)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		aside, err := quarantine(path, opts)
		if err != nil {
			return nil, err
		}
		info = OpenInfo{Rebuilt: true, CorruptPath: aside, CorruptReason: reason}
		// Sequences must keep increasing for subscribers that resume after
		// the rebuild, yet the old last sequence is lost: start from the
		// clock in microseconds, above any count of events ever issued.
		db, reason, err = openChecked(path, opts, uint64(opts.Now().UnixMicro()))
		if err != nil {
			return nil, err
		}
		if reason != "" {
			return nil, fmt.Errorf("store: the fresh store at %s fails its own check: %s", path, reason)
		}
	}
	return &Store{db: db, opts: opts, info: info}, nil
}

// openChecked checks an existing file read-only, so that a corrupt one is
// set aside byte for byte as found, then opens it read-write and
// initialises it when it has no buckets yet (first event sequence
// firstSeq). A non-empty reason means the file is corrupt (and closed); err
// means Open must fail.
func openChecked(path string, opts Options, firstSeq uint64) (db *bolt.DB, reason string, err error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		ro, reason, err := openBolt(path, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: true, PreLoadFreelist: true})
		if reason != "" || err != nil {
			return nil, reason, err
		}
		reason, err = check(ro, path)
		if cerr := ro.Close(); cerr != nil && err == nil && reason == "" {
			err = fmt.Errorf("store: close after check: %w", cerr)
		}
		if reason != "" || err != nil {
			return nil, reason, err
		}
	}
	db, reason, err = openBolt(path, &bolt.Options{Timeout: opts.LockTimeout})
	if reason != "" || err != nil {
		return nil, reason, err
	}
	if reason, err = initialise(db, firstSeq); reason != "" || err != nil {
		db.Close()
		return nil, reason, err
	}
	return db, "", nil
}

// openBolt opens the file with bbolt, turning panics and faults on a
// corrupt file into a reason. Lock and I/O failures are errors.
func openBolt(path string, bopts *bolt.Options) (db *bolt.DB, reason string, err error) {
	ferr := guard(func() error {
		db, err = bolt.Open(path, 0o600, bopts)
		return nil
	})
	switch {
	case ferr != nil:
		return nil, "open: " + ferr.Error(), nil
	case errors.Is(err, bolt.ErrTimeout):
		return nil, "", fmt.Errorf("store: %s is locked by another process: %w", path, ioError(err))
	case isOSError(err):
		return nil, "", fmt.Errorf("store: open %s: %w", path, ioError(err))
	case err != nil:
		return nil, "open: " + err.Error(), nil
	}
	return db, "", nil
}

// quarantine moves the corrupt file aside and returns its new path.
func quarantine(path string, opts Options) (string, error) {
	aside := path + ".corrupt-" + opts.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("store: moving corrupt %s aside: %w", path, ioError(err))
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return aside, nil
}

// isOSError reports an error from the file system rather than the content.
func isOSError(err error) bool {
	var errno syscall.Errno
	var perr *fs.PathError
	return errors.As(err, &errno) || errors.As(err, &perr)
}
