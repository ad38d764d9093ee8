package netns

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

func TestCheckJoinable(t *testing.T) {
	testutil.E2E(t) // needs root (CAP_SYS_ADMIN) to pin namespaces
	dir := t.TempDir()
	allowed := filepath.Join(dir, "netns")
	other := filepath.Join(dir, "other")
	for _, d := range []string{allowed, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(allowed, "pod")
	outside := filepath.Join(other, "pod")
	for _, p := range []string{good, outside} {
		if err := Create(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = Remove(p) })
	}
	host := filepath.Join(allowed, "host")
	if err := os.WriteFile(host, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("/proc/thread-self/ns/net", host, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Remove(host) })
	regular := filepath.Join(allowed, "regular")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(allowed, "link")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	dirs := []string{allowed, "/nonexistent-dir"}

	got, err := CheckJoinable(good, dirs)
	if err != nil || got != good {
		t.Fatalf("CheckJoinable(%s) = %q, %v; want the path, nil", good, got, err)
	}
	for _, c := range []struct {
		name, path string
		want       error
	}{
		{"relative", "netns/pod", errdefs.ErrInvalidArgument},
		{"unclean", allowed + "/../netns/pod", errdefs.ErrInvalidArgument},
		{"nonexistent", filepath.Join(allowed, "missing"), errdefs.ErrInvalidArgument},
		{"regular file", regular, errdefs.ErrInvalidArgument},
		{"directory", allowed, errdefs.ErrInvalidArgument},
		{"mount namespace", "/proc/self/ns/mnt", errdefs.ErrInvalidArgument},
		{"outside the dirs", outside, errdefs.ErrPermissionDenied},
		{"symlink out of the dirs", link, errdefs.ErrPermissionDenied},
		{"own proc link", "/proc/thread-self/ns/net", errdefs.ErrInvalidArgument},
		{"host namespace pinned inside", host, errdefs.ErrPermissionDenied},
	} {
		if _, err := CheckJoinable(c.path, dirs); !errors.Is(err, c.want) {
			t.Errorf("%s (%s): err = %v", c.name, c.path, err)
		}
	}
	if _, err := CheckJoinable(good, nil); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("no joinable dirs: err = %v, want PermissionDenied", err)
	}
}
