// Package netns prepares the network namespace of a sandbox that uses
// runsc's own network stack (--network=sandbox). runsc copies the
// interfaces that are up in the sandbox's namespace into its netstack and
// skips the rest; a fresh namespace has only a loopback that is down, so
// the sandbox would have no interface at all. Create makes a namespace with
// the loopback up and pins it to a file the OCI spec can name.
package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Create makes a new network namespace with its loopback up and
// bind-mounts it at path (a file it creates; its directory must exist).
func Create(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o600)
	if err != nil {
		return fmt.Errorf("network namespace file: %w", err)
	}
	made, statErr := f.Stat()
	f.Close()
	if statErr != nil {
		_ = os.Remove(path)
		return fmt.Errorf("network namespace file: %w", statErr)
	}
	errc := make(chan error, 1)
	go func() {
		// The namespace change is confined to this OS thread, which is
		// never unlocked: the runtime discards it when the goroutine ends,
		// so no other goroutine ever runs in the new namespace.
		runtime.LockOSThread()
		errc <- enterNewAndPin(path)
	}()
	if err := <-errc; err != nil {
		// The bind mount is the last step, so nothing of ours is mounted.
		// Whatever is at path now may be another process's: only the file
		// made above is removed (a mount point cannot be removed anyway).
		removeIfSame(path, made)
		return err
	}
	return nil
}

// removeIfSame removes path if it is still the file made.
func removeIfSame(path string, made os.FileInfo) {
	if now, err := os.Lstat(path); err == nil && os.SameFile(now, made) {
		_ = os.Remove(path)
	}
}

func enterNewAndPin(path string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("new network namespace: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("pinning the network namespace at %s: %w", path, err)
	}
	return nil
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing the loopback up: %w", err)
	}
	return nil
}

// Remove unmounts and removes a namespace made by Create; a missing one is
// not an error.
func Remove(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing network namespace %s: %w", path, err)
	}
	return nil
}

// Pinned reports whether path is a mount of a network namespace.
func Pinned(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// Unmount removes one mount from path (the topmost of those stacked on
// it); an unmounted or missing path is not an error.
func Unmount(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting network namespace %s: %w", path, err)
	}
	return nil
}
