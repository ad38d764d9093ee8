package bundle

import (
	"errors"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// inRoot resolves one path component below a directory fd: never through
// a symlink (the rootfs may hold hostile ones), never above the fd, never
// into another mount.
const inRoot = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openat2 retries the EAGAIN that openat2 returns when a concurrent rename
// might have raced the resolution.
func openat2(dirFD int, name string, how *unix.OpenHow) (int, error) {
	for range 16 {
		fd, err := unix.Openat2(dirFD, name, how)
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

func openDirIn(dirFD int, name string) (int, error) {
	return openat2(dirFD, name, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: inRoot})
}

// mkdirAllIn creates rel (clean, relative, "." for the root itself) below
// rootFD one component at a time and returns an O_PATH fd of it.
func mkdirAllIn(rootFD int, rel string) (int, error) {
	fd, err := unix.FcntlInt(uintptr(rootFD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil || rel == "." {
		return fd, err
	}
	for _, c := range strings.Split(rel, "/") {
		next, err := openDirIn(fd, c)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(fd, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(fd)
				return -1, err
			}
			next, err = openDirIn(fd, c)
		}
		if err != nil && isSymlinkAt(fd, c) {
			err = unix.ELOOP // O_DIRECTORY reports a symlink as ENOTDIR
		}
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

func isSymlinkAt(dirFD int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirFD, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// makeMountPoint creates the directory or empty file mp.Dest inside the
// rootfs open at rootFD, refusing any path that passes through a symlink,
// a non-directory or another mount.
func makeMountPoint(rootFD int, mp mountPoint) error {
	rel := strings.TrimPrefix(mp.Dest, "/")
	if mp.Dir {
		fd, err := mkdirAllIn(rootFD, rel)
		if err != nil {
			return mountPointError(mp.Dest, err)
		}
		return unix.Close(fd)
	}
	dirFD, err := mkdirAllIn(rootFD, path.Dir(rel))
	if err != nil {
		return mountPointError(mp.Dest, err)
	}
	defer unix.Close(dirFD)
	name := path.Base(rel)
	fd, err := openat2(dirFD, name, &unix.OpenHow{
		Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC, Mode: 0o644, Resolve: inRoot,
	})
	if err == nil {
		return unix.Close(fd)
	}
	if !errors.Is(err, unix.EEXIST) {
		return mountPointError(mp.Dest, err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirFD, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return mountPointError(mp.Dest, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return mountPointError(mp.Dest, unix.ELOOP)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errdefs.InvalidArgument("mount destination %s exists in the rootfs but is not a regular file; a file is mounted there", mp.Dest)
	}
	return nil
}

func mountPointError(dest string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return errdefs.InvalidArgument("mount destination %s passes through a symlink in the rootfs; symlinks are never followed for mount points", dest)
	case errors.Is(err, unix.ENOTDIR):
		return errdefs.InvalidArgument("mount destination %s passes through a non-directory in the rootfs", dest)
	case errors.Is(err, unix.EXDEV):
		return errdefs.InvalidArgument("mount destination %s crosses a mount inside the rootfs", dest)
	}
	return errors.Join(errors.New("creating mount point "+dest+" in the rootfs"), err)
}
