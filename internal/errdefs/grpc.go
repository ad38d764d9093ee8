package errdefs

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ToGRPC converts err to a gRPC status error carrying its kind's code and
// its message. It is called at exactly one place: the API boundary.
func ToGRPC(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrDeadlineExceeded):
		code = codes.DeadlineExceeded
	default:
		switch Kind(err) {
		case ErrInvalidArgument:
			code = codes.InvalidArgument
		case ErrNotFound:
			code = codes.NotFound
		case ErrAlreadyExists:
			code = codes.AlreadyExists
		case ErrFailedPrecondition:
			code = codes.FailedPrecondition
		case ErrPermissionDenied:
			code = codes.PermissionDenied
		case ErrResourceExhausted:
			code = codes.ResourceExhausted
		case ErrUnavailable:
			code = codes.Unavailable
		}
	}
	return status.Error(code, err.Error())
}

// FromGRPC restores the errdefs kind of a gRPC status error, keeping the
// server's message, so clients can test kinds with errors.Is.
func FromGRPC(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	kind := ErrInternal
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		kind = ErrInvalidArgument
	case codes.NotFound:
		kind = ErrNotFound
	case codes.AlreadyExists:
		kind = ErrAlreadyExists
	case codes.FailedPrecondition:
		kind = ErrFailedPrecondition
	case codes.PermissionDenied, codes.Unauthenticated:
		kind = ErrPermissionDenied
	case codes.ResourceExhausted:
		kind = ErrResourceExhausted
	case codes.Unavailable:
		kind = ErrUnavailable
	case codes.DeadlineExceeded:
		kind = ErrDeadlineExceeded
	case codes.Canceled:
		return fmt.Errorf("%s: %w", st.Message(), context.Canceled)
	}
	return &kindError{kind: kind, msg: st.Message()}
}
