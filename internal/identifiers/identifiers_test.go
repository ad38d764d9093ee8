package identifiers

import (
	"errors"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestValidate(t *testing.T) {
	good := []string{"a", "web-1", "A.b_c-9", strings.Repeat("x", 64)}
	for _, n := range good {
		if err := Validate("name", n); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", ".hidden", "-x", "_x", "a/b", "..", "a b", "a\x00", strings.Repeat("x", 65), "é", "a\n"}
	for _, n := range bad {
		err := Validate("name", n)
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Validate(%q) = %v, want InvalidArgument", n, err)
		}
	}
}

// TestValidateContainerName: a chosen name may not read as an id: 12 or
// more lowercase hex digits are refused; shorter or mixed names are fine.
func TestValidateContainerName(t *testing.T) {
	for _, n := range []string{"web", "cafe", "deadbeef", "abcdef12345", "abcdef12345g", "ABCDEF123456", "abcdef-123456"} {
		if err := ValidateContainerName(n); err != nil {
			t.Errorf("ValidateContainerName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range []string{"abcdef123456", "0123456789ab", strings.Repeat("f", 32), strings.Repeat("0", 64), "a/b", ""} {
		if err := ValidateContainerName(n); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ValidateContainerName(%q) = %v, want InvalidArgument", n, err)
		}
	}
}
