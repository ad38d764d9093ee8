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
