package images

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// IDMap is one range of a user namespace mapping: ids [ContainerID,
// ContainerID+Size) of the image appear as host ids [HostID, HostID+Size).
type IDMap struct {
	ContainerID, HostID, Size uint32
}

// MountIDMapped mounts the image tree src at dst (an existing directory)
// read-only, nosuid and nodev, through an id-mapped mount: a file the image
// owns as uid u appears through dst as the host uid u maps to in uids (gids
// likewise). The image tree is stored with the image's own ids and shared
// by every container; a container whose sandbox runs in a user namespace
// gets such a mount of it with its own mappings, so its gofer (root of that
// namespace) sees the image's owners and modes exactly, and ids outside the
// mappings appear as the overflow id. The filesystem must support id-mapped
// mounts (ext4, xfs, btrfs, tmpfs; Linux ≥ 5.12). Unmount with
// UnmountIDMapped.
func MountIDMapped(src, dst string, uids, gids []IDMap) error {
	if len(uids) == 0 || len(gids) == 0 {
		return errdefs.InvalidArgument("an id-mapped mount needs uid and gid mappings")
	}
	ns, err := usernsFD(uids, gids)
	if err != nil {
		return fmt.Errorf("images: user namespace for the id-mapped mount: %w", err)
	}
	defer ns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("images: open_tree %s: %w", src, err)
	}
	defer unix.Close(tree)
	attr := &unix.MountAttr{
		Attr_set:  unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
		Userns_fd: uint64(ns.Fd()),
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return fmt.Errorf("images: id-map the mount of %s: %w", src, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("images: mount %s at %s: %w", src, dst, err)
	}
	return nil
}

// UnmountIDMapped removes a mount MountIDMapped made (lazily, so a
// sandbox still holding it does not block); nothing mounted is no error.
func UnmountIDMapped(dst string) error {
	err := unix.Unmount(dst, unix.MNT_DETACH)
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("images: unmount %s: %w", dst, err)
}

// catPaths are where a process that blocks on its stdin is found; it only
// has to live while its user namespace is opened.
var catPaths = []string{"/usr/bin/cat", "/bin/cat"}

// usernsFD returns a user namespace with the given mappings: a child is
// started in a new one (the Go runtime writes its maps before exec), the
// namespace is opened through /proc, and the child is ended.
func usernsFD(uids, gids []IDMap) (*os.File, error) {
	bin := ""
	for _, p := range catPaths {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return nil, errors.New("no cat binary to hold the namespace")
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: procIDMaps(uids),
		GidMappings: procIDMaps(gids),
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	return os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
}

func procIDMaps(m []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(m))
	for _, r := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(r.ContainerID), HostID: int(r.HostID), Size: int(r.Size)})
	}
	return out
}
