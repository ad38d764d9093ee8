package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// A supervisor holds an exclusive flock on LockFile in its directory for
// its whole life, taken before anything else (before its pid file, long
// before runsc create). The kernel drops it when the process dies, so it
// tells a live supervisor from a dead one without the window a pid file
// has; and Delete, by taking it first, keeps a supervisor that was spawned
// but has not started yet from ever running runsc.

// lockDir takes dir's supervisor lock for the calling process; it fails
// when another process holds it or dir is gone. The lock lives as long as
// the returned file stays open.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("supervisor lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errdefs.FailedPrecondition("supervisor lock %s is held by another process", f.Name())
		}
		return nil, fmt.Errorf("supervisor lock: %w", err)
	}
	return f, nil
}

// Claim takes dir's supervisor lock for the caller, so that no supervisor
// can start there until release is called (removing dir meanwhile makes
// that permanent). busy reports a live supervisor holding it. A missing
// dir is not busy and needs no release.
func Claim(dir string) (release func(), busy bool, err error) {
	f, err := lockDir(dir)
	switch {
	case err == nil:
		return func() { f.Close() }, false, nil
	case errors.Is(err, errdefs.ErrFailedPrecondition):
		return func() {}, true, nil
	case errors.Is(err, os.ErrNotExist):
		return func() {}, false, nil
	}
	return nil, false, err
}
