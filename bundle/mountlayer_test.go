package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// imageTree is a small unpacked image: /etc/passwd, /etclink -> /etc,
// /rootlink -> /, /dangling -> /nope, /.nucleus.
func imageTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	for _, d := range []string{"etc", HelperMountPoint[1:]} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, to := range map[string]string{"etclink": "/etc", "rootlink": "/", "dangling": "/nope"} {
		if err := os.Symlink(to, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listTree is every path under dir.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestCreateImageMountLayer: bind volumes and secrets on an image root get
// their mount points in the bundle's own layer, at destinations resolved
// inside the image (a symlink to /etc lands on the image's /etc); the
// tree is never written; the root is read-only; Remove leaves no mount.
func TestCreateImageMountLayer(t *testing.T) {
	requireRoot(t)
	for _, userns := range []bool{false, true} {
		tree := imageTree(t)
		before := listTree(t, tree)
		allowed := t.TempDir()
		paths := testPaths(t)
		req := sh()
		req.Image = &ImageRoot{Dir: tree, DiskBytes: MinDiskBytes}
		req.Volumes = []Volume{{Type: VolumeBind, Source: allowed, Destination: "/data"}, {Type: VolumeBind, Source: allowed, Destination: "/etclink/vol"}}
		req.Secrets = []Secret{{Name: "token", Data: []byte("s")}}
		if userns {
			m := []IDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			req.UserNamespace = &UserNamespace{UIDMappings: m, GIDMappings: m}
		}
		pol := &Policy{AllowedHostPaths: []string{allowed}, AllowHostPaths: true}
		spec, err := Create(testID, req, pol, paths)
		if err != nil {
			t.Fatalf("userns %v: Create: %v", userns, err)
		}
		if findMount(spec, "/etc/vol") == nil || findMount(spec, "/etclink/vol") != nil {
			t.Errorf("userns %v: the volume at /etclink/vol was not resolved to /etc/vol: %+v", userns, spec.Mounts)
		}
		rootfs := Dir(paths.BundleDir).RootfsPath()
		for p, dir := range map[string]bool{"data": true, "etc/vol": true, "run/secrets/token": false, "etc/passwd": false} {
			fi, err := os.Lstat(filepath.Join(rootfs, p))
			if err != nil || fi.IsDir() != dir {
				t.Errorf("userns %v: %s in the root: %v %v", userns, p, fi, err)
			}
		}
		var st syscall.Stat_t
		wantUID := uint32(0)
		if userns {
			wantUID = 100000
		}
		if err := syscall.Stat(filepath.Join(rootfs, "etc"), &st); err != nil || st.Uid != wantUID {
			t.Errorf("userns %v: /etc, copied up for its mount point, is owned by %d (%v), want %d", userns, st.Uid, err, wantUID)
		}
		if err := os.WriteFile(filepath.Join(rootfs, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
			t.Errorf("userns %v: writing into the root: %v, want EROFS", userns, err)
		}
		if after := listTree(t, tree); len(after) != len(before) {
			t.Errorf("userns %v: the image tree changed: %v", userns, after)
		}
		if err := Remove(paths); err != nil {
			t.Fatal(err)
		}
		if m := testMounts(t); len(m) != 0 {
			t.Errorf("userns %v: mounts left: %v", userns, m)
		}
		if _, err := os.Lstat(paths.BundleDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("userns %v: bundle left: %v", userns, err)
		}
	}
}

// TestCreateImageMountLayerRefuses: destinations that resolve to the
// image's "/" or through a dangling symlink are refused, nothing is left.
func TestCreateImageMountLayerRefuses(t *testing.T) {
	requireRoot(t)
	tree := imageTree(t)
	allowed := t.TempDir()
	for _, dst := range []string{"/rootlink", "/dangling/x", "/etc/passwd/x"} {
		paths := testPaths(t)
		req := sh()
		req.Image = &ImageRoot{Dir: tree, DiskBytes: MinDiskBytes}
		req.Volumes = []Volume{{Type: VolumeBind, Source: allowed, Destination: dst}}
		_, err := Create(testID, req, &Policy{AllowedHostPaths: []string{allowed}, AllowHostPaths: true}, paths)
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("volume at %s: %v, want InvalidArgument", dst, err)
		}
		if _, err := os.Lstat(paths.BundleDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("volume at %s: bundle left: %v", dst, err)
		}
	}
	if m := testMounts(t); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
	if _, err := os.Lstat("/nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a mount point was made on the host through the dangling symlink: %v", err)
	}
}
