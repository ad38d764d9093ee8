package gvisor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gvisor.dev/gvisor/runsc/config"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestSandboxOf: a container's sandbox comes from its runsc state file's
// name, <container>_sandbox:<sandbox>.state: its own id, or a pod's member's
// pod; no state, or a pattern for an id, is NotFound.
func TestSandboxOf(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"pod_sandbox:pod.state", "member_sandbox:pod.state", "other_sandbox:other.lock"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := &Client{conf: &config.Config{RootDir: dir}}
	for id, want := range map[string]string{"pod": "pod", "member": "pod"} {
		if got, err := c.sandboxOf(id); err != nil || got != want {
			t.Errorf("sandboxOf(%q) = %q, %v; want %q", id, got, err, want)
		}
	}
	for _, id := range []string{"other", "nothing", "*", "mem*", "", "../pod"} {
		if got, err := c.sandboxOf(id); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("sandboxOf(%q) = %q, %v; want NotFound", id, got, err)
		}
	}
}
