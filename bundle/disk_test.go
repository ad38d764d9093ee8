package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

func wantMode(t *testing.T, p string, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != mode {
		t.Errorf("%s mode = %v, want %v", p, fi.Mode(), mode)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
		t.Errorf("%s owner = %d, want %d", p, st.Uid, os.Geteuid())
	}
}

func TestCreateWritesBundle(t *testing.T) {
	fakeHost(t)
	paths := testPaths(t)
	spec, err := Create(testID, sh(), nil, paths)
	if err != nil {
		t.Fatal(err)
	}
	d := Dir(paths.BundleDir)
	wantMode(t, string(d), fs.ModeDir|0o700)
	wantMode(t, d.RootfsPath(), fs.ModeDir|0o755)
	wantMode(t, d.ConfigPath(), 0o600)
	if d.ConfigPath() != filepath.Join(paths.BundleDir, "config.json") || d.RootfsPath() != filepath.Join(paths.BundleDir, "rootfs") {
		t.Errorf("Dir paths: %s %s", d.ConfigPath(), d.RootfsPath())
	}
	data, err := os.ReadFile(d.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var onDisk specs.Spec
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, onDisk) != jsonOf(t, spec) {
		t.Error("config.json differs from the returned spec")
	}
	entries, _ := os.ReadDir(string(d))
	if len(entries) != 2 {
		t.Errorf("bundle holds %v, want only config.json and rootfs (no temp files)", entries)
	}
	if target, err := os.Readlink(filepath.Join(d.RootfsPath(), "bin")); err != nil || target != "usr/bin" {
		t.Errorf("rootfs/bin -> %q, %v; want the merged-/usr link", target, err)
	}
	if fi, err := os.Stat(filepath.Join(d.RootfsPath(), "usr")); err != nil || !fi.IsDir() {
		t.Errorf("rootfs/usr mount point: %v", err)
	}
	validateSpec(t, spec, string(d))

	_, err = Create(testID, sh(), nil, paths)
	wantErr(t, err, errdefs.ErrAlreadyExists, paths.BundleDir)
	if _, err := os.Stat(d.ConfigPath()); err != nil {
		t.Errorf("a refused second Create damaged the first bundle: %v", err)
	}
	for range 2 {
		if err := Remove(paths); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	if _, err := os.Lstat(string(d)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bundle still there: %v", err)
	}
	if err := Remove(Paths{}); err != nil {
		t.Errorf("Remove of nothing: %v", err)
	}
}

func TestCreateRejectsBeforeWriting(t *testing.T) {
	fakeHost(t)
	paths := testPaths(t)
	req := sh()
	req.Env = []string{"bad key=1"}
	_, err := Create(testID, req, nil, paths)
	wantErr(t, err, errdefs.ErrInvalidArgument)
	if _, err := os.Lstat(filepath.Dir(paths.BundleDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a rejected request left something on disk")
	}
}

func TestCreateBadPaths(t *testing.T) {
	fakeHost(t)
	dir := t.TempDir()
	for _, p := range []Paths{
		{BundleDir: "relative"},
		{BundleDir: "/"},
		{BundleDir: dir + "/b/", SecretsDir: dir + "/s"},
		{BundleDir: dir + "/b", SecretsDir: dir + "/b/secrets"},
		{BundleDir: dir + "/b/x", SecretsDir: dir + "/b"},
	} {
		_, err := Create(testID, sh(), nil, p)
		wantErr(t, err, errdefs.ErrFailedPrecondition)
	}
}

func TestRemoveRefusesToCrossMounts(t *testing.T) {
	requireRoot(t)
	fakeHost(t)
	paths := testPaths(t)
	if _, err := Create(testID, sh(), nil, paths); err != nil {
		t.Fatal(err)
	}
	precious := t.TempDir()
	if err := os.WriteFile(filepath.Join(precious, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A stray mount inside the rootfs (not one of our pins): Remove must
	// fail rather than delete what is mounted there.
	mp := filepath.Join(Dir(paths.BundleDir).RootfsPath(), "usr")
	if err := unix.Mount(precious, mp, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	err := Remove(paths)
	if err == nil || !strings.Contains(err.Error(), "mount") {
		t.Errorf("Remove across a mount: err = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(precious, "keep")); err != nil {
		t.Errorf("Remove deleted data behind a mount: %v", err)
	}
	if err := unix.Unmount(mp, 0); err != nil {
		t.Fatal(err)
	}
	if err := Remove(paths); err != nil {
		t.Fatal(err)
	}
}

// TestCreateFullRoot creates a bundle with every on-disk feature (pinned
// volumes, secrets tmpfs, host rootfs) and checks the result and Remove.
func TestCreateFullRoot(t *testing.T) {
	requireRoot(t)
	fakeHost(t)
	h := newHostTree(t)
	paths := testPaths(t)
	req := sh()
	req.User = User{UID: 1234, GID: 5678}
	req.Volumes = []Volume{
		{Type: VolumeBind, Source: h.allowed + "/to-sub", Destination: "/data", ReadOnly: true},
		{Type: VolumeBind, Source: h.allowed + "/file", Destination: "/etc/f"},
	}
	req.Secrets = []Secret{{Name: "k", Data: []byte("very-secret-bytes")}, {Name: "m", Data: []byte("x"), Mode: 0o440}}
	spec, err := Create(testID, req, h.policy(), paths)
	if err != nil {
		t.Fatal(err)
	}
	d := Dir(paths.BundleDir)
	for i, want := range []string{filepath.Join(d.volumesPath(), "0"), filepath.Join(d.volumesPath(), "1")} {
		m := findMount(spec, []string{"/data", "/etc/f"}[i])
		if m.Source != want {
			t.Errorf("mount %s source = %s, want the pin %s", m.Destination, m.Source, want)
		}
		if mp, err := isMountPoint(want); err != nil || !mp {
			t.Errorf("%s is not a mount: %v", want, err)
		}
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(filepath.Join(d.volumesPath(), "0"), &sfs); err != nil || sfs.Flags&unix.ST_RDONLY == 0 || sfs.Flags&unix.ST_NOSUID == 0 || sfs.Flags&unix.ST_NODEV == 0 {
		t.Errorf("read-only pin flags = %#x, %v", sfs.Flags, err)
	}
	if err := os.WriteFile(filepath.Join(d.volumesPath(), "0", "x"), nil, 0o644); err == nil {
		t.Error("the read-only pin is writable")
	}
	if err := unix.Statfs(paths.SecretsDir, &sfs); err != nil || sfs.Type != unix.TMPFS_MAGIC || sfs.Flags&(unix.ST_NOEXEC|unix.ST_NOSUID|unix.ST_NODEV) != unix.ST_NOEXEC|unix.ST_NOSUID|unix.ST_NODEV {
		t.Errorf("secrets dir statfs = %+v, %v", sfs, err)
	}
	wantSecret := func(name string, mode fs.FileMode, data string) {
		p := filepath.Join(paths.SecretsDir, name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != mode || st.Uid != 1234 || st.Gid != 5678 {
			t.Errorf("%s: mode %v owner %d:%d", name, fi.Mode(), st.Uid, st.Gid)
		}
		if b, _ := os.ReadFile(p); string(b) != data {
			t.Errorf("%s holds %q", name, b)
		}
	}
	wantSecret("k", 0o400, "very-secret-bytes")
	wantSecret("m", 0o440, "x")
	if fi, err := os.Stat(paths.SecretsDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("secrets dir mode: %v %v", fi, err)
	}
	assertNotOnDisk(t, paths.BundleDir, "very-secret-bytes")
	validateSpec(t, spec, paths.BundleDir)

	// Keep the tmpfs inode reachable to check it was zeroed before unlink.
	fd, err := unix.Open(filepath.Join(paths.SecretsDir, "k"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := Remove(paths); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := unix.Pread(fd, buf, 0)
	if !bytes.Equal(buf[:n], make([]byte, n)) || n != len("very-secret-bytes") {
		t.Errorf("secret not wiped before removal: %q", buf[:n])
	}
	for _, p := range []string{paths.BundleDir, paths.SecretsDir} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind", p)
		}
	}
	if _, err := os.Stat(h.allowed + "/data/sub"); err != nil {
		t.Errorf("Remove touched the volume source: %v", err)
	}
	if err := Remove(paths); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// TestCreateFailsCleanly injects a failure after each step of Create and
// checks that nothing is left: no directories, no mounts.
func TestCreateFailsCleanly(t *testing.T) {
	requireRoot(t)
	fakeHost(t)
	h := newHostTree(t)
	for _, step := range []string{"rootfs", "volumes", "secrets", "config"} {
		t.Run(step, func(t *testing.T) {
			paths := testPaths(t)
			req := sh()
			req.Rootfs = h.allowed + "/data"
			req.Volumes = []Volume{{Type: VolumeBind, Source: h.allowed + "/file", Destination: "/f", ReadOnly: true}}
			req.Secrets = []Secret{{Name: "k", Data: []byte("x")}}
			createFault = func(s string) error {
				if s == step {
					return fmt.Errorf("injected after %s", s)
				}
				return nil
			}
			defer func() { createFault = nil }()
			_, err := Create(testID, req, h.policy(), paths)
			if err == nil || !strings.Contains(err.Error(), "injected") {
				t.Fatalf("err = %v", err)
			}
			for _, p := range []string{paths.BundleDir, paths.SecretsDir} {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s left behind after a failure at %s", p, step)
				}
			}
			if m := testMounts(t); len(m) != 0 {
				t.Errorf("mounts leaked after a failure at %s: %v", step, m)
			}
		})
	}
	if _, err := os.Stat(h.allowed + "/data/f"); err != nil {
		t.Errorf("the mount point in the host rootfs is expected to stay: %v", err)
	}
}

// TestCreateHostileHostRootfs: a host rootfs whose /data is a symlink to
// the host's / can neither redirect a mount point nor leave anything.
func TestCreateHostileHostRootfs(t *testing.T) {
	requireRoot(t)
	fakeHost(t)
	h := newHostTree(t)
	rootfs := h.allowed + "/data"
	if err := os.Symlink("/", rootfs+"/evil"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../outside", rootfs+"/up"); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"/evil/tmp/nucleus-hostile", "/up/x", "/evil"} {
		paths := testPaths(t)
		req := sh()
		req.Rootfs = rootfs
		req.Secrets = []Secret{{Name: "k", Destination: dst}}
		_, err := Create(testID, req, h.policy(), paths)
		wantErr(t, err, errdefs.ErrInvalidArgument, "symlink")
		if _, err := os.Lstat(paths.BundleDir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("bundle left behind for %s", dst)
		}
	}
	if m := testMounts(t); len(m) != 0 {
		t.Errorf("mounts leaked: %v", m)
	}
	if _, err := os.Lstat("/tmp/nucleus-hostile"); err == nil {
		t.Error("a mount point escaped onto the host")
	}
	if entries, _ := os.ReadDir(h.outside); len(entries) != 0 {
		t.Errorf("a mount point escaped: %v", entries)
	}
}
