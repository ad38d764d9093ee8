// Package testutil holds helpers shared by Nucleus's unit and e2e tests:
// locating the repository and the built runsc, and deciding whether an e2e
// test may run (it must fail, never skip, under CI=true).
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where e2e
// prerequisites that are missing fail the suite instead of skipping it.
func InCI() bool { return os.Getenv("CI") == "true" }

// RepoRoot returns the directory holding go.mod, walking up from the
// current working directory (go test runs in the package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Unavailable skips the test with reason, or fails it under CI or when
// NUCLEUS_E2E=require is set.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if InCI() || os.Getenv("NUCLEUS_E2E") == "require" {
		t.Fatalf("e2e prerequisite missing (CI=true, so this fails instead of skipping): %s", reason)
	}
	t.Skipf("e2e prerequisite missing: %s (set CI=true to make this fail)", reason)
}

// E2E marks the test as end-to-end: it is skipped under -short, and it
// fails under CI when not running as root.
func E2E(t testing.TB) {
	t.Helper()
	if testing.Short() && !InCI() {
		t.Skip("e2e test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "e2e tests need root")
	}
}

// Runsc returns the path of the runsc built by `make build` (bin/runsc), or
// $NUCLEUS_RUNSC when set. It implies E2E.
func Runsc(t testing.TB) string {
	t.Helper()
	E2E(t)
	path := os.Getenv("NUCLEUS_RUNSC")
	if path == "" {
		path = filepath.Join(RepoRoot(t), "bin", "runsc")
	}
	if _, err := exec.LookPath(path); err != nil {
		Unavailable(t, "runsc not found at "+path+" (run `make build`)")
	}
	return path
}

// HookDir returns a new empty directory, mode 0755 and removed at cleanup,
// that hook validation accepts as a trusted directory: every component from
// "/" down is owned by root (or the caller) and writable by its owner
// alone, so it cannot be under /tmp. Root gets one under /run, other users
// one under their home directory.
func HookDir(t testing.TB) string {
	t.Helper()
	parent := "/run"
	if os.Geteuid() != 0 {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("hook dir: %v", err)
		}
		parent = home
	}
	dir, err := os.MkdirTemp(parent, "nucleus-hooks-test-")
	if err != nil {
		t.Fatalf("hook dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("hook dir: %v", err)
	}
	return dir
}

// RequireRoot skips a test that needs root for why (e.g. "to chown
// hooks") when not running as root, and fails it instead under CI.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatalf("this test needs root %s (CI=true, so it fails instead of skipping)", why)
	}
	t.Skipf("this test needs root %s", why)
}
