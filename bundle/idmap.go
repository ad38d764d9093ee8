package bundle

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// idmappedBind mounts src read-only, nosuid and nodev at target through an
// idmapped mount (mount_setattr MOUNT_ATTR_IDMAP) with un's mappings:
// a file the image says uid 1234 owns appears to the sandbox's gofer,
// which runs in un, as the host uid un maps container uid 1234 to, so the
// container sees the image's ownership as docker shows it. The tree on
// disk keeps the image's own ids and is shared by every container.
func idmappedBind(src, target string, un *UserNamespace) error {
	nsFD, err := usernsFD(un)
	if err != nil {
		return err
	}
	defer unix.Close(nsFD)
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(tree)
	attr := &unix.MountAttr{
		Attr_set:  unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
		Userns_fd: uint64(nsFD),
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return fmt.Errorf("idmapping the mount of %s: %w", src, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mounting %s at %s: %w", src, target, err)
	}
	return nil
}

// usernsFD returns an fd of a new user namespace with un's mappings. A
// child is started in it under ptrace, so it stops at its exec before it
// runs any code; its namespace is opened and the child killed.
func usernsFD(un *UserNamespace) (int, error) {
	cmd := exec.Command("/proc/self/exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: sysIDMap(un.UIDMappings),
		GidMappings: sysIDMap(un.GIDMappings),
		Ptrace:      true,
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("starting a process in the idmap user namespace: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening the idmap user namespace: %w", os.NewSyscallError("open", err))
	}
	return fd, nil
}

func sysIDMap(in []IDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(in))
	for _, m := range in {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}
