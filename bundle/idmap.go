package bundle

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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
// single-threaded helper, util-linux unshare(1) running cat on a pipe,
// makes the namespace; nucleusd writes its maps, opens it through /proc
// and ends the helper. Go's own CLONE_NEWUSER cannot vfork: it forks the
// whole daemon, copying its page tables and making every page it writes
// afterwards fault, about 4 ms of CPU on the forking thread and more
// across the daemon, per image container. Without unshare(1) it falls
// back to that fork (ptraceUsernsFD).
func usernsFD(un *UserNamespace) (int, error) {
	unshare, cat := firstExisting(unsharePaths), firstExisting(catPaths)
	if unshare == "" || cat == "" {
		return ptraceUsernsFD(un)
	}
	cmd := exec.Command(unshare, "--user", "--", cat)
	cmd.Env = []string{}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return -1, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("starting %s for the idmap user namespace: %w", unshare, err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	proc := fmt.Sprintf("/proc/%d", cmd.Process.Pid)
	if err := awaitNewUserns(proc); err != nil {
		return -1, err
	}
	for file, maps := range map[string][]IDMapping{"uid_map": un.UIDMappings, "gid_map": un.GIDMappings} {
		var b strings.Builder
		for _, m := range maps {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		if err := os.WriteFile(filepath.Join(proc, file), []byte(b.String()), 0); err != nil {
			return -1, fmt.Errorf("writing the idmap user namespace's %s: %w", file, err)
		}
	}
	fd, err := unix.Open(proc+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening the idmap user namespace: %w", os.NewSyscallError("open", err))
	}
	return fd, nil
}

// The helpers usernsFD runs, where Debian puts them.
var (
	unsharePaths = []string{"/usr/bin/unshare", "/bin/unshare"}
	catPaths     = []string{"/usr/bin/cat", "/bin/cat"}
)

func firstExisting(paths []string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// awaitNewUserns waits (at most 5 s) until the process at proc is in a
// user namespace other than ours.
func awaitNewUserns(proc string) error {
	self, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		return err
	}
	pause := 20 * time.Microsecond
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		ns, err := os.Readlink(proc + "/ns/user")
		if err != nil {
			return fmt.Errorf("the idmap user namespace helper: %w", err)
		}
		if ns != self {
			return nil
		}
		time.Sleep(pause)
		pause = min(2*pause, time.Millisecond)
	}
	return errors.New("the idmap user namespace helper did not unshare its user namespace within 5s")
}

// ptraceUsernsFD is usernsFD without unshare(1): a child is started in a
// new user namespace under ptrace, so it stops at its exec before it runs
// any code; its namespace is opened and the child killed.
func ptraceUsernsFD(un *UserNamespace) (int, error) {
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
