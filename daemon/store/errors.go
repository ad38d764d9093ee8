package store

import (
	"errors"
	"fmt"
	"runtime/debug"
	"syscall"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
)

// ioError gives file-system errors their errdefs kind: a full disk is
// ResourceExhausted, a lock held elsewhere Unavailable. Others pass through.
func ioError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w (%w)", err, errdefs.ErrResourceExhausted)
	case errors.Is(err, bolt.ErrTimeout):
		return fmt.Errorf("%w (%w)", err, errdefs.ErrUnavailable)
	}
	return err
}

// guard runs fn, turning a panic or a memory fault (bbolt reading a
// corrupt or truncated mmap) into an error instead of a crash.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}
