package hooks

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// TestValidationRules checks that New refuses each broken rule with a
// message naming the set, phase, index, path and rule.
func TestValidationRules(t *testing.T) {
	requireRoot(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) (path string, opts []Option)
		want  string
	}{
		{"relative", func(t *testing.T, dir string) (string, []Option) {
			return "hooks/audit", nil
		}, "must be absolute"},
		{"not clean", func(t *testing.T, dir string) (string, []Option) {
			writeScript(t, filepath.Join(dir, "h"), "true")
			return dir + "/sub/../h", nil
		}, "must be clean"},
		{"outside trusted dirs", func(t *testing.T, dir string) (string, []Option) {
			return writeScript(t, filepath.Join(t.TempDir(), "h"), "true"), nil
		}, "is not under a trusted directory"},
		{"prefix is not a parent", func(t *testing.T, dir string) (string, []Option) {
			sib := dir + "-evil"
			mkdir(t, sib)
			t.Cleanup(func() { os.RemoveAll(sib) })
			return writeScript(t, filepath.Join(sib, "h"), "true"), nil
		}, "is not under a trusted directory"},
		{"symlink as the file", func(t *testing.T, dir string) (string, []Option) {
			real := writeScript(t, filepath.Join(dir, "real"), "true")
			link := filepath.Join(dir, "link")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link, nil
		}, "/link is a symlink"},
		{"symlink in a parent", func(t *testing.T, dir string) (string, []Option) {
			writeScript(t, filepath.Join(mkdir(t, dir, "real"), "h"), "true")
			if err := os.Symlink("real", filepath.Join(dir, "linkdir")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "linkdir", "h"), nil
		}, "/linkdir is a symlink"},
		{"directory", func(t *testing.T, dir string) (string, []Option) {
			return mkdir(t, dir, "adir"), nil
		}, "is not a regular file (it is a directory)"},
		{"fifo", func(t *testing.T, dir string) (string, []Option) {
			p := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p, nil
		}, "is not a regular file (it is a fifo)"},
		{"not executable", func(t *testing.T, dir string) (string, []Option) {
			p := writeScript(t, filepath.Join(dir, "h"), "true")
			chmod(t, p, 0o644)
			return p, nil
		}, "is not executable (mode 0644)"},
		{"owned by another uid", func(t *testing.T, dir string) (string, []Option) {
			p := writeScript(t, filepath.Join(dir, "h"), "true")
			if err := os.Chown(p, 12345, 0); err != nil {
				t.Fatal(err)
			}
			return p, []Option{WithDaemonUID(0)}
		}, "is owned by uid 12345; it must be owned by root or nucleusd's uid 0"},
		{"world-writable", func(t *testing.T, dir string) (string, []Option) {
			p := writeScript(t, filepath.Join(dir, "h"), "true")
			chmod(t, p, 0o757)
			return p, nil
		}, "is world-writable (mode 0757)"},
		{"group-writable, not owned by root", func(t *testing.T, dir string) (string, []Option) {
			p := writeScript(t, filepath.Join(dir, "h"), "true")
			if err := os.Chown(p, 12345, 0); err != nil {
				t.Fatal(err)
			}
			chmod(t, p, 0o775)
			return p, []Option{WithDaemonUID(12345)}
		}, "file DIR/h is group-writable (mode 0775, gid 0)"},
		{"group-writable, owned by root", func(t *testing.T, dir string) (string, []Option) {
			// root:<socket group> 0775: a group member could rewrite it.
			p := writeScript(t, filepath.Join(dir, "h"), "true")
			if err := os.Chown(p, 0, 4242); err != nil {
				t.Fatal(err)
			}
			chmod(t, p, 0o775)
			return p, nil
		}, "file DIR/h is group-writable (mode 0775, gid 4242)"},
		{"group-writable directory owned by root", func(t *testing.T, dir string) (string, []Option) {
			sub := mkdir(t, dir, "gw")
			p := writeScript(t, filepath.Join(sub, "h"), "true")
			if err := os.Chown(sub, 0, 4242); err != nil {
				t.Fatal(err)
			}
			chmod(t, sub, 0o775)
			return p, nil
		}, "directory DIR/gw is group-writable (mode 0775, gid 4242)"},
		{"group-writable parent above the trusted dir", func(t *testing.T, dir string) (string, []Option) {
			// The group could rename the trusted directory away and put its own in place.
			trusted := mkdir(t, dir, "trusted")
			p := writeScript(t, filepath.Join(trusted, "h"), "true")
			if err := os.Chown(dir, 0, 4242); err != nil {
				t.Fatal(err)
			}
			chmod(t, dir, 0o775)
			return p, []Option{WithTrustedDirs(trusted)}
		}, "directory DIR is group-writable (mode 0775, gid 4242)"},
		{"world-writable parent above the trusted dir", func(t *testing.T, dir string) (string, []Option) {
			trusted := mkdir(t, dir, "ww", "trusted")
			p := writeScript(t, filepath.Join(trusted, "h"), "true")
			chmod(t, filepath.Dir(trusted), 0o777)
			return p, []Option{WithTrustedDirs(trusted)}
		}, "directory DIR/ww is world-writable (mode 0777)"},
		{"sticky world-writable ancestor, like /tmp", func(t *testing.T, dir string) (string, []Option) {
			trusted := mkdir(t, dir, "sticky", "trusted")
			p := writeScript(t, filepath.Join(trusted, "h"), "true")
			chmod(t, filepath.Dir(trusted), 0o777|os.ModeSticky)
			return p, []Option{WithTrustedDirs(trusted)}
		}, "directory DIR/sticky is world-writable (mode 1777; the sticky bit does not make it safe for hooks)"},
		{"setuid", func(t *testing.T, dir string) (string, []Option) {
			p := writeScript(t, filepath.Join(dir, "h"), "true")
			chmod(t, p, 0o755|os.ModeSetuid)
			return p, nil
		}, "has the setuid or setgid bit (mode 4755)"},
		{"setgid", func(t *testing.T, dir string) (string, []Option) {
			p := writeScript(t, filepath.Join(dir, "h"), "true")
			chmod(t, p, 0o755|os.ModeSetgid)
			return p, nil
		}, "has the setuid or setgid bit (mode 2755)"},
		{"missing", func(t *testing.T, dir string) (string, []Option) {
			return filepath.Join(dir, "nope", "h"), nil
		}, "/nope does not exist"},
		{"world-writable directory", func(t *testing.T, dir string) (string, []Option) {
			sub := mkdir(t, dir, "ww")
			p := writeScript(t, filepath.Join(sub, "h"), "true")
			chmod(t, sub, 0o777)
			return p, nil
		}, "directory " + "DIR/ww is world-writable (mode 0777)"},
		{"directory owned by another uid", func(t *testing.T, dir string) (string, []Option) {
			sub := mkdir(t, dir, "theirs")
			p := writeScript(t, filepath.Join(sub, "h"), "true")
			if err := os.Chown(sub, 12345, 0); err != nil {
				t.Fatal(err)
			}
			return p, []Option{WithDaemonUID(0)}
		}, "directory DIR/theirs is owned by uid 12345"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := testutil.HookDir(t)
			path, opts := tc.setup(t, dir)
			cfg := Config{Sets: map[string]Set{"audit": {
				Poststop: []Hook{{Path: path}},
			}}}
			_, err := New(cfg, append([]Option{WithTrustedDirs(dir)}, opts...)...)
			if err == nil {
				t.Fatalf("New accepted %s", path)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("kind = %v, want InvalidArgument", errdefs.Kind(err))
			}
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			prefix := "hooks.sets.audit.poststop[0] (" + path + "): "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) {
				t.Errorf("error = %q\nwant prefix %q and %q", msg, prefix, want)
			}
		})
	}
}

// TestValidationAccepts checks the cases the rules allow.
func TestValidationAccepts(t *testing.T) {
	requireRoot(t)
	dir := testutil.HookDir(t)
	mine := writeScript(t, filepath.Join(dir, "mine"), "true")
	if err := os.Chown(mine, 12345, 0); err != nil {
		t.Fatal(err)
	}
	nested := writeScript(t, filepath.Join(mkdir(t, dir, "a", "b"), "h"), "true")
	cfg := Config{Sets: map[string]Set{"ok": {CreateRuntime: []Hook{{Path: mine}, {Path: nested}}}}}
	if _, err := New(cfg, WithTrustedDirs(dir), WithDaemonUID(12345)); err != nil {
		t.Fatalf("New: %v", err)
	}
}

// TestDefaultTrustedDirs checks the production list is the reference's and
// that without an override a temp dir is not trusted.
func TestDefaultTrustedDirs(t *testing.T) {
	want := []string{"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/local/bin",
		"/usr/local/sbin", "/usr/local/libexec", "/bin", "/sbin", "/nix/store", "/opt"}
	if got := DefaultTrustedDirs(); !slices.Equal(got, want) {
		t.Fatalf("DefaultTrustedDirs = %v", got)
	}
	DefaultTrustedDirs()[0] = "/tmp" // a copy: the built-in list cannot be changed
	if DefaultTrustedDirs()[0] != "/usr/bin" {
		t.Fatal("DefaultTrustedDirs returned the built-in array")
	}
	p := writeScript(t, filepath.Join(t.TempDir(), "h"), "true")
	_, err := New(Config{Sets: map[string]Set{"s": {Poststart: []Hook{{Path: p}}}}})
	if err == nil || !strings.Contains(err.Error(), "is not under a trusted directory") {
		t.Fatalf("New with the built-in list = %v, want not trusted", err)
	}
	// A real root-owned binary under the built-in list passes.
	if _, err := New(Config{Sets: map[string]Set{"s": {Poststart: []Hook{{Path: "/usr/bin/true"}}}}}); err != nil {
		t.Fatalf("New(/usr/bin/true) = %v", err)
	}
}

// TestConfigRules covers the non-file rules of New.
func TestConfigRules(t *testing.T) {
	dir := testutil.HookDir(t)
	ok := writeScript(t, filepath.Join(dir, "h"), "true")
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"trusted /", Config{TrustedDirs: []string{"/"}}, `trusted directory "/" would trust every file`},
		{"trusted relative", Config{TrustedDirs: []string{"usr/bin"}}, "must be an absolute, clean path"},
		{"bad set name", Config{Sets: map[string]Set{"../x": {}}}, `hook set name "../x" is invalid`},
		{"unknown default", Config{DefaultSet: "nope"}, `hooks.default_set: no hook set named "nope"`},
		{"prestart", Config{Sets: map[string]Set{"s": {Prestart: []Hook{{Path: ok}}}}}, "hooks.sets.s.prestart: not supported"},
		{"create_container", Config{Sets: map[string]Set{"s": {CreateContainer: []Hook{{Path: ok}}}}}, "hooks.sets.s.create_container: not supported"},
		{"start_container", Config{Sets: map[string]Set{"s": {StartContainer: []Hook{{Path: ok}}}}}, "hooks.sets.s.start_container: not supported"},
		{"env without =", Config{Sets: map[string]Set{"s": {Poststop: []Hook{{Path: ok, Env: []string{"NOVALUE"}}}}}}, "is not KEY=value"},
		{"env twice", Config{Sets: map[string]Set{"s": {Poststop: []Hook{{Path: ok, Env: []string{"A=1", "A=2"}}}}}}, "env sets A twice"},
		{"negative timeout", Config{Sets: map[string]Set{"s": {Poststop: []Hook{{Path: ok, Timeout: -1}}}}}, "timeout must not be negative"},
		{"NUL in args", Config{Sets: map[string]Set{"s": {Poststop: []Hook{{Path: ok, Args: []string{"a\x00b"}}}}}}, "NUL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, WithTrustedDirs(dir))
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want InvalidArgument containing %q", err, tc.want)
			}
		})
	}
}
