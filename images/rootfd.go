package images

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// tree is a directory that paths are resolved in as if it were "/": every
// lookup goes through openat2(RESOLVE_IN_ROOT), so "..", absolute paths and
// symlinks (absolute or relative, planted by any earlier entry) never leave
// it. Entries are then created or removed by name relative to an O_PATH fd
// of their parent, with *at calls that do not follow a final symlink.
type tree struct {
	fd int // O_PATH|O_DIRECTORY of the root
}

// resolveFlags makes the kernel treat the tree's fd as the root of every
// lookup and refuse /proc magic links and mount crossings.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

func openTree(dir string) (*tree, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return &tree{fd: fd}, nil
}

func (t *tree) close() { unix.Close(t.fd) }

// open resolves p (relative to the tree's root) with flags.
func (t *tree) open(p string, flags uint64, mode uint64) (int, error) {
	for {
		fd, err := unix.Openat2(t.fd, p, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: mode, Resolve: resolveFlags})
		if err == unix.EINTR || err == unix.EAGAIN {
			continue // EAGAIN: a concurrent rename raced the lookup; retry
		}
		return fd, err
	}
}

// cleanPath turns a tar entry name into a clean path relative to the root
// ("" for the root itself): leading "/", "./" and any ".." that would climb
// above the root are dropped, as if the name were resolved in a chroot.
func cleanPath(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// parent returns an O_PATH fd of p's parent directory and p's last
// component, creating missing parent directories (0755, owned by root, as
// docker does) inside the tree. The parent may be reached through symlinks,
// which resolve inside the tree.
func (t *tree) parent(p string) (fd int, base string, err error) {
	dir, base := path.Split(p)
	if base == "" {
		return -1, "", errors.New("empty name")
	}
	fd, err = t.mkdirAll(strings.TrimSuffix(dir, "/"))
	return fd, base, err
}

// mkdirAll opens directory dir (relative), creating missing components
// one at a time, and returns an O_PATH fd of it.
func (t *tree) mkdirAll(dir string) (int, error) {
	if dir == "" {
		return unix.Dup(t.fd)
	}
	fd, err := t.open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	pfd, base, err := t.parent(dir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	if err := unix.Mkdirat(pfd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("mkdir %s: %w", dir, err)
	}
	return t.open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
}

// lstatAt stats name in dirfd without following a final symlink.
func lstatAt(dirfd int, name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// removeAt removes name in dirfd, recursively when it is a directory,
// never following symlinks. A missing name is not an error.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	if err := emptyDirAt(dirfd, name, nil); err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// emptyDirAt removes every entry of directory name in dirfd except those
// keep reports true for.
func emptyDirAt(dirfd int, name string, keep func(string) bool) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	for {
		names, err := f.Readdirnames(256)
		for _, n := range names {
			if keep != nil && keep(n) {
				continue
			}
			if err := removeAt(fd, n); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && len(names) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
