package errdefs

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestKindSurvivesWrapping(t *testing.T) {
	err := fmt.Errorf("container c1: %w", NotFound("no container named %q", "c1"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("errors.Is(ErrNotFound) = false for %v", err)
	}
	if Kind(err) != ErrNotFound {
		t.Fatalf("Kind = %v, want ErrNotFound", Kind(err))
	}
	if got, want := err.Error(), `container c1: no container named "c1"`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestKindDefaultsToInternal(t *testing.T) {
	if Kind(errors.New("boom")) != ErrInternal {
		t.Fatal("an unclassified error must be internal")
	}
	if Kind(PermissionDenied("x")) != ErrPermissionDenied {
		t.Fatal("PermissionDenied kind lost")
	}
}

// TestKindOfAFullDisk: out of space is ResourceExhausted on every path,
// wrapped or not, and keeps its message.
func TestKindOfAFullDisk(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		err := fmt.Errorf("write bundle: %w", &os.PathError{Op: "write", Path: "/x", Err: errno})
		if k := Kind(err); k != ErrResourceExhausted {
			t.Errorf("Kind(%v) = %v, want ResourceExhausted", err, k)
		}
		if got := ToGRPC(err); status.Code(got) != codes.ResourceExhausted {
			t.Errorf("ToGRPC(%v) = %v, want ResourceExhausted", err, got)
		}
	}
	if k := Kind(syscall.EIO); k != ErrInternal {
		t.Errorf("Kind(EIO) = %v, want Internal", k)
	}
}
