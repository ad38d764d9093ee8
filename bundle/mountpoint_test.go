package bundle

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// hostileRootfs is a rootfs whose entries point out of it: absolute and
// relative symlinks, a symlink as the final component, a file where a
// directory is expected.
func hostileRootfs(t *testing.T) (rootfs, outside string) {
	t.Helper()
	base := t.TempDir()
	rootfs, outside = filepath.Join(base, "rootfs"), filepath.Join(base, "outside")
	for _, d := range []string{rootfs + "/ok", outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs":      outside,             // /abs -> <outside>
		"rel":      "../outside",        // /rel -> ../outside
		"dotdot":   "../../../../../..", // /dotdot -> host /
		"ok/final": outside,             // a symlink as the last component
		"etc":      "/etc",
		"selfloop": "selfloop",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(rootfs, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return rootfs, outside
}

func openRoot(t *testing.T, rootfs string) int {
	t.Helper()
	fd, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestMountPointsNeverFollowSymlinks(t *testing.T) {
	rootfs, outside := hostileRootfs(t)
	rootFD := openRoot(t, rootfs)
	for _, mp := range []mountPoint{
		{"/abs/x", true}, {"/abs/x", false}, {"/abs", true}, {"/abs", false},
		{"/rel/x", true}, {"/rel/sub/x", false},
		{"/dotdot/tmp/nucleus-mp-escape", true},
		{"/ok/final", true}, {"/ok/final", false}, {"/ok/final/x", false},
		{"/etc/passwd", false}, {"/etc/nucleus-mp-escape", true},
		{"/selfloop/x", true},
	} {
		err := makeMountPoint(rootFD, mp)
		wantErr(t, err, errdefs.ErrInvalidArgument, mp.Dest, "symlink")
	}
	for _, mp := range []mountPoint{{"/file/x", true}, {"/file", true}, {"/dir", false}} {
		err := makeMountPoint(rootFD, mp)
		wantErr(t, err, errdefs.ErrInvalidArgument, mp.Dest)
	}
	entries, err := os.ReadDir(outside)
	if err != nil || len(entries) != 0 {
		t.Errorf("something was created outside the rootfs: %v %v", entries, err)
	}
	for _, p := range []string{"/tmp/nucleus-mp-escape", "/etc/nucleus-mp-escape"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was created on the host", p)
		}
	}
}

func TestMountPointsCreated(t *testing.T) {
	rootfs, _ := hostileRootfs(t)
	rootFD := openRoot(t, rootfs)
	for _, mp := range []mountPoint{{"/a/b/c", true}, {"/a/b/f", false}, {"/run/secrets/k", false}, {"/ok/new", true}, {"/dir", true}, {"/file", false}} {
		if err := makeMountPoint(rootFD, mp); err != nil {
			t.Fatalf("%+v: %v", mp, err)
		}
		fi, err := os.Lstat(filepath.Join(rootfs, mp.Dest))
		if err != nil || fi.IsDir() != mp.Dir || (!mp.Dir && !fi.Mode().IsRegular()) {
			t.Errorf("%s: %v %v", mp.Dest, fi, err)
		}
	}
	// Idempotent: existing mount points of the right type are fine.
	if err := makeMountPoint(rootFD, mountPoint{"/a/b/f", false}); err != nil {
		t.Error(err)
	}
}

// TestMountPointRace swaps a directory for a symlink to the outside while
// mount points are created below it: nothing may ever land outside.
func TestMountPointRace(t *testing.T) {
	rootfs, outside := hostileRootfs(t)
	rootFD := openRoot(t, rootfs)
	swap := filepath.Join(rootfs, "swap")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.RemoveAll(swap)
			_ = os.Symlink(outside, swap)
			_ = os.Remove(swap)
			_ = os.Mkdir(swap, 0o755)
		}
	}()
	for range 2000 {
		_ = makeMountPoint(rootFD, mountPoint{"/swap/x/y", true})
		_ = makeMountPoint(rootFD, mountPoint{"/swap/f", false})
	}
	close(stop)
	<-done
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("a racing symlink let mount points escape: %v", entries)
	}
}
