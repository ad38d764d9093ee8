// Package errdefs is Nucleus's one error vocabulary: lower packages wrap these
// kinds with context, and only the API boundary converts them to gRPC codes.
package errdefs

import (
	"errors"
	"fmt"
	"syscall"
)

// The error kinds. Wrap them with fmt.Errorf("...: %w", ErrX) or use the
// constructors below; test with errors.Is.
var (
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrResourceExhausted  = errors.New("resource exhausted")
	ErrUnavailable        = errors.New("unavailable")
	ErrDeadlineExceeded   = errors.New("deadline exceeded")
	ErrInternal           = errors.New("internal error")
)

// kindError carries a human message and a kind; its Error() is the message
// alone, so callers see what to fix rather than the kind's name.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func newf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// InvalidArgument reports a request the caller must change.
func InvalidArgument(format string, args ...any) error {
	return newf(ErrInvalidArgument, format, args...)
}

// NotFound reports a missing object.
func NotFound(format string, args ...any) error { return newf(ErrNotFound, format, args...) }

// AlreadyExists reports a name or ID collision.
func AlreadyExists(format string, args ...any) error {
	return newf(ErrAlreadyExists, format, args...)
}

// FailedPrecondition reports an operation not allowed in the current state.
func FailedPrecondition(format string, args ...any) error {
	return newf(ErrFailedPrecondition, format, args...)
}

// PermissionDenied reports a request that policy forbids for this caller.
func PermissionDenied(format string, args ...any) error {
	return newf(ErrPermissionDenied, format, args...)
}

// ResourceExhausted reports a limit that was reached.
func ResourceExhausted(format string, args ...any) error {
	return newf(ErrResourceExhausted, format, args...)
}

// Unavailable reports a dependency that cannot be reached right now.
func Unavailable(format string, args ...any) error { return newf(ErrUnavailable, format, args...) }

// DeadlineExceeded reports an operation that ran out of time.
func DeadlineExceeded(format string, args ...any) error {
	return newf(ErrDeadlineExceeded, format, args...)
}

// Kind returns the first errdefs kind found in err's chain, or ErrInternal.
func Kind(err error) error {
	for _, k := range []error{
		ErrInvalidArgument, ErrNotFound, ErrAlreadyExists, ErrFailedPrecondition,
		ErrPermissionDenied, ErrResourceExhausted, ErrUnavailable, ErrDeadlineExceeded,
	} {
		if errors.Is(err, k) {
			return k
		}
	}
	// A full disk or quota is a resource the caller ran out of, whichever
	// path met it first.
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return ErrResourceExhausted
	}
	return ErrInternal
}
