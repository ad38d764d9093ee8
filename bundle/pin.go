package bundle

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// openSource opens src.Path as an O_PATH fd by walking down from its
// allowed root without following any symlink: if a component was swapped
// for a symlink since Build resolved it, the open fails instead of
// reaching outside the allowed root.
func openSource(src hostSource) (int, error) {
	rootFD, err := openat2(unix.AT_FDCWD, src.Root, &unix.OpenHow{
		Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, changedSource(src, err)
	}
	defer unix.Close(rootFD)
	rel, err := filepath.Rel(src.Root, src.Path)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return -1, fmt.Errorf("source %s is not under %s", src.Path, src.Root)
	}
	fd, err := openat2(rootFD, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, changedSource(src, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if isDir != src.IsDir || (!isDir && st.Mode&unix.S_IFMT != unix.S_IFREG) {
		unix.Close(fd)
		return -1, errdefs.PermissionDenied("host path %s changed type since it was checked; refusing to mount it", src.Path)
	}
	return fd, nil
}

func changedSource(src hostSource, err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return errdefs.PermissionDenied("host path %s changed since it was checked (a component is now a symlink or missing); refusing to mount it", src.Path)
	}
	return fmt.Errorf("opening host path %s: %w", src.Path, err)
}

// pinSource bind-mounts the source, through the fd openSource returned,
// onto target (which exists and matches its type), makes the mount
// private, and remounts it nosuid,nodev (and ro when readOnly). runsc then
// mounts target, which no later path swap can redirect.
func pinSource(src hostSource, target string, readOnly bool) error {
	fd, err := openSource(src)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", fd), target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("pinning %s at %s: %w", src.Path, target, err)
	}
	if err := unix.Mount("", target, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making %s private: %w", target, err)
	}
	return remountBind(target, readOnly)
}

// remountBind sets nosuid,nodev (and ro) on the bind mount at target,
// keeping noexec and ro if the source mount had them.
func remountBind(target string, readOnly bool) error {
	var sfs unix.Statfs_t
	if err := unix.Statfs(target, &sfs); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV)
	if readOnly || sfs.Flags&unix.ST_RDONLY != 0 {
		flags |= unix.MS_RDONLY
	}
	if sfs.Flags&unix.ST_NOEXEC != 0 {
		flags |= unix.MS_NOEXEC
	}
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("remounting %s: %w", target, err)
	}
	return nil
}
