package errdefs

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestGRPCRoundTrip(t *testing.T) {
	cases := []struct {
		err  error
		code codes.Code
		kind error
	}{
		{InvalidArgument("bad %s", "x"), codes.InvalidArgument, ErrInvalidArgument},
		{fmt.Errorf("get: %w", NotFound("no such container")), codes.NotFound, ErrNotFound},
		{AlreadyExists("dup"), codes.AlreadyExists, ErrAlreadyExists},
		{FailedPrecondition("not running"), codes.FailedPrecondition, ErrFailedPrecondition},
		{PermissionDenied("no"), codes.PermissionDenied, ErrPermissionDenied},
		{ResourceExhausted("full"), codes.ResourceExhausted, ErrResourceExhausted},
		{Unavailable("down"), codes.Unavailable, ErrUnavailable},
		{DeadlineExceeded("slow"), codes.DeadlineExceeded, ErrDeadlineExceeded},
		{errors.New("boom"), codes.Internal, ErrInternal},
	}
	for _, c := range cases {
		g := ToGRPC(c.err)
		if got := status.Code(g); got != c.code {
			t.Errorf("ToGRPC(%v) code = %v, want %v", c.err, got, c.code)
		}
		if got := status.Convert(g).Message(); got != c.err.Error() {
			t.Errorf("message = %q, want %q", got, c.err.Error())
		}
		back := FromGRPC(g)
		if Kind(back) != c.kind {
			t.Errorf("FromGRPC kind = %v, want %v", Kind(back), c.kind)
		}
		if back.Error() != c.err.Error() {
			t.Errorf("FromGRPC message = %q, want %q", back.Error(), c.err.Error())
		}
	}
	if ToGRPC(nil) != nil || FromGRPC(nil) != nil {
		t.Fatal("nil must stay nil")
	}
}
