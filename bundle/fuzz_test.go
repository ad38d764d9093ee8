package bundle

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"nucleus.dev/nucleus/internal/errdefs"
)

func FuzzCleanDestination(f *testing.F) {
	for _, s := range []string{
		"/data", "/../etc", "//proc/./x", "/a/./b//", "", "relative", "/dev", "/devices",
		"/\x00", "/tmp/..", "/\xff", "/a\nb", "/" + strings.Repeat("a", 256), "/sys/../x", "/proc2", "/.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := cleanDestination("dest", in)
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("%q: error kind %v, want InvalidArgument", in, errdefs.Kind(err))
			}
			return
		}
		if !strings.HasPrefix(out, "/") || path.Clean(out) != out || out == "/" || hasDotDot(out) {
			t.Fatalf("%q -> %q: not absolute, clean, non-root and free of '..'", in, out)
		}
		if !utf8.ValidString(out) || strings.ContainsFunc(out, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("%q -> %q: control characters or invalid UTF-8", in, out)
		}
		for _, f := range forbiddenDestinations {
			if isUnder(out, f) {
				t.Fatalf("%q -> %q is under %s", in, out, f)
			}
		}
		if out != path.Clean(in) {
			t.Fatalf("%q -> %q changed the meaning (Clean gives %q)", in, out, path.Clean(in))
		}
		if again, err := cleanDestination("dest", out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}

func FuzzResolveHostPath(f *testing.F) {
	base := f.TempDir()
	allowed, outside := filepath.Join(base, "allowed"), filepath.Join(base, "outside")
	denied := filepath.Join(allowed, "state")
	for _, d := range []string{allowed + "/data/sub", denied, outside + "/sub"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(allowed+"/file", nil, 0o644); err != nil {
		f.Fatal(err)
	}
	for name, target := range map[string]string{
		"to-etc": "/etc", "to-outside": "../outside", "loop": "loop", "to-state": "state",
		"chain": "data/sub/../../to-outside", "abs-in": allowed + "/data", "to-root": "/",
		"data/sub/up": "../../..", "to-proc": "/proc/self/cwd",
	} {
		if err := os.Symlink(target, filepath.Join(allowed, name)); err != nil {
			f.Fatal(err)
		}
	}
	pol := &Policy{AllowedHostPaths: []string{allowed}, DeniedHostPaths: []string{denied}, AllowHostPaths: true}
	for _, s := range []string{"data", "data/sub", "file", "to-etc", "to-outside/sub", "loop", "to-state", "chain",
		"abs-in/sub", "to-root/etc", "data/sub/up/outside", "to-proc", "", "/etc", "/proc/self/root", "../outside", "/"} {
		f.Add(s)
	}
	realAllowed, err := filepath.EvalSymlinks(allowed)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		src := allowed + "/" + rel
		if strings.HasPrefix(rel, "/") {
			src = rel
		}
		res, err := resolveHostPath("source", src, pol)
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalidArgument) && !errors.Is(err, errdefs.ErrPermissionDenied) {
				t.Fatalf("%q: error kind %v", src, errdefs.Kind(err))
			}
			return
		}
		if again, err := filepath.EvalSymlinks(res.Path); err != nil || again != res.Path {
			t.Fatalf("%q -> %q is not symlink-free (%q, %v)", src, res.Path, again, err)
		}
		if !isUnder(res.Path, realAllowed) || res.Root != realAllowed {
			t.Fatalf("%q -> %q escapes the allowed %q", src, res.Path, realAllowed)
		}
		for _, d := range deniedPaths(pol) {
			if isUnder(res.Path, d) || isUnder(d, res.Path) {
				t.Fatalf("%q -> %q meets the denied %q", src, res.Path, d)
			}
		}
		fi, err := os.Lstat(res.Path)
		if err != nil || fi.IsDir() != res.IsDir || (!fi.IsDir() && !fi.Mode().IsRegular()) {
			t.Fatalf("%q -> %q: type %v, IsDir %v", src, res.Path, fi, res.IsDir)
		}
	})
}
