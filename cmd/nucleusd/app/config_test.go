package app

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/testutil"
)

// TestConfigCheckValidatesHooks: `nucleusd config check` validates the hook
// files as the daemon's start does, and exits 1 naming the hook and the
// rule for a 0777 hook, a root-owned group-writable hook, and a
// group-writable directory above the trusted one; a sound hook is "ok".
func TestConfigCheckValidatesHooks(t *testing.T) {
	testutil.RequireRoot(t, "to chown hooks")
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, hook string)
		want  string // "" means ok; DIR is the directory above the trusted DIR/sub
	}{
		{"sound", func(t *testing.T, dir, hook string) {}, ""},
		{"0777 hook", func(t *testing.T, dir, hook string) {
			chmodT(t, hook, 0o777)
		}, "file DIR/sub/hook is world-writable (mode 0777)"},
		{"root:group 0775 hook", func(t *testing.T, dir, hook string) {
			chownT(t, hook, 0, 4242)
			chmodT(t, hook, 0o775)
		}, "file DIR/sub/hook is group-writable (mode 0775, gid 4242)"},
		{"group-writable directory above the trusted one", func(t *testing.T, dir, hook string) {
			chownT(t, dir, 0, 4242)
			chmodT(t, dir, 0o775)
		}, "directory DIR is group-writable (mode 0775, gid 4242)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := testutil.HookDir(t)
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			hook := filepath.Join(dir, "sub", "hook")
			if err := os.WriteFile(hook, []byte("#!/bin/sh\ntrue\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			trusted := filepath.Dir(hook)
			tc.setup(t, dir, hook)
			cfg := filepath.Join(t.TempDir(), "nucleusd.toml")
			body := fmt.Sprintf("version = 1\n[hooks]\ntrusted_dirs = [%q]\n[hooks.sets.audit]\npoststop = [{ path = %q }]\n", trusted, hook)
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"nucleusd", "--config", cfg, "config", "check"}, &stdout, &stderr)
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			switch {
			case want == "" && (code != 0 || stdout.String() != cfg+": ok\n"):
				t.Fatalf("exit %d, stdout %q, stderr %q; want ok", code, stdout.String(), stderr.String())
			case want != "" && (code != 1 || !strings.Contains(stderr.String(), "hooks.sets.audit.poststop[0] ("+hook+"): "+want)):
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
			case want != "" && strings.Contains(stdout.String(), "ok"):
				t.Fatalf("stdout %q says ok for a refused hook", stdout.String())
			}
		})
	}
}

func chmodT(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chownT(t *testing.T, path string, uid, gid int) {
	t.Helper()
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}
