package errdefs

import (
	"errors"
	"fmt"
	"testing"
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
