package bundle

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUsernsFDMapsIDs: the namespace from unshare(1) and the one from the
// ptrace fallback both id-map a mount: a file root owns in the source
// appears owned by the mapped host uid and gid.
func TestUsernsFDMapsIDs(t *testing.T) {
	requireRoot(t)
	m := []IDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	g := []IDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
	un := &UserNamespace{UIDMappings: m, GIDMappings: g}
	for name, get := range map[string]func(*UserNamespace) (int, error){"unshare": usernsFD, "ptrace": ptraceUsernsFD} {
		src, dst := t.TempDir(), t.TempDir()
		if err := os.WriteFile(filepath.Join(src, "f"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		fd, err := get(un)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(fd)})
		if err == nil {
			err = unix.MoveMount(tree, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH)
		}
		unix.Close(tree)
		unix.Close(fd)
		if err != nil {
			t.Fatalf("%s: id-mapped mount: %v", name, err)
		}
		var st syscall.Stat_t
		err = syscall.Stat(filepath.Join(dst, "f"), &st)
		_ = unmountAll(dst)
		if err != nil || st.Uid != 200000 || st.Gid != 300000 {
			t.Errorf("%s: a root-owned file appears as %d:%d (%v), want 200000:300000", name, st.Uid, st.Gid, err)
		}
	}
}
