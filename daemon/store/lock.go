package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// acquireLock takes an exclusive flock on path (created 0600), polling until
// timeout. The lock file, not the database, is locked, so that Open may
// inspect and quarantine the database only while no other nucleusd can use
// it. Closing the returned file releases the lock.
func acquireLock(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("store: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, errdefs.Unavailable("store: %s is locked by another process (is another nucleusd running with the same --root?); gave up after %s", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
