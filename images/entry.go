package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// OCI whiteout names (image-spec layer.md).
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// entry applies one tar entry.
func (u *unpacker) entry(tr *tar.Reader, hdr *tar.Header) error {
	p := cleanPath(hdr.Name)
	if p == "" {
		// The root itself: only its metadata may change.
		if hdr.Typeflag == tar.TypeDir {
			return u.meta(u.t.fd, ".", hdr, true)
		}
		return nil
	}
	base := path.Base(p)
	if base == whiteoutOpaque {
		return u.opaque(path.Dir(p))
	}
	if name, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
			return errdefs.InvalidArgument("whiteout names %q, not an entry of its directory", name)
		}
		return u.whiteout(path.Join(path.Dir(p), name))
	}
	switch hdr.Typeflag {
	case tar.TypeChar:
		u.skipped.CharDevices++
		return nil
	case tar.TypeBlock:
		u.skipped.BlockDevices++
		return nil
	case tar.TypeFifo:
		u.skipped.FIFOs++
		return nil
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return errdefs.InvalidArgument("unsupported tar entry type %q", hdr.Typeflag)
	}
	pfd, base, err := u.t.parent(p)
	if err != nil {
		return fmt.Errorf("parent directory: %w", err)
	}
	defer closeFD(pfd)
	u.created[p] = true
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(pfd, base, p, hdr)
	case tar.TypeReg:
		return u.file(pfd, base, tr, hdr)
	case tar.TypeSymlink:
		return u.symlink(pfd, base, hdr)
	default:
		return u.hardlink(pfd, base, hdr)
	}
}

// replace removes what is at base unless it is a directory and keepDir.
func replace(pfd int, base string, keepDir bool) error {
	st, err := lstatAt(pfd, base)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if keepDir && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil
	}
	return removeAt(pfd, base)
}

func (u *unpacker) dir(pfd int, base, p string, hdr *tar.Header) error {
	if err := replace(pfd, base, true); err != nil {
		return err
	}
	if err := unix.Mkdirat(pfd, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer closeFD(fd)
	u.dirs = append(u.dirs, dirTimes{path: p, mtime: hdr.ModTime})
	return u.meta(fd, "", hdr, true)
}

func (u *unpacker) file(pfd int, base string, tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Size < 0 || hdr.Size > u.pol.MaxUnpackedBytes-u.written {
		return errdefs.ResourceExhausted("the image's files exceed %d bytes (max_unpacked_bytes)", u.pol.MaxUnpackedBytes)
	}
	if err := replace(pfd, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(tr, hdr.Size))
	u.written += n
	if u.progress != nil {
		u.progress(n)
	}
	if err != nil {
		return err
	}
	if n != hdr.Size {
		return errdefs.InvalidArgument("file is truncated: %d of %d bytes", n, hdr.Size)
	}
	if err := u.meta(fd, "", hdr, true); err != nil {
		return err
	}
	return unix.Futimes(fd, []unix.Timeval{unix.NsecToTimeval(hdr.ModTime.UnixNano()), unix.NsecToTimeval(hdr.ModTime.UnixNano())})
}

func (u *unpacker) symlink(pfd int, base string, hdr *tar.Header) error {
	if err := replace(pfd, base, false); err != nil {
		return err
	}
	// The target is stored as text and only ever resolved inside the tree.
	if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
		return err
	}
	if u.asRoot {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return utimesAt(pfd, base, timespecs(hdr.ModTime))
}

// hardlink links base to the file hdr.Linkname names inside the tree. The
// target is resolved in the tree and not followed if it is a symlink, so a
// link can only ever share an inode the image itself created.
func (u *unpacker) hardlink(pfd int, base string, hdr *tar.Header) error {
	target := cleanPath(hdr.Linkname)
	if target == "" {
		return errdefs.InvalidArgument("hard link to the image root")
	}
	src, err := u.t.open(target, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return errdefs.InvalidArgument("hard link target %q is not in the image: %v", hdr.Linkname, err)
	}
	defer closeFD(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errdefs.InvalidArgument("hard link target %q is a directory", hdr.Linkname)
	}
	if err := replace(pfd, base, false); err != nil {
		return err
	}
	return unix.Linkat(src, "", pfd, base, unix.AT_EMPTY_PATH)
}

// meta sets owner, mode and safe xattrs on fd (name "" or "." for fd
// itself). chown comes first, as it clears setuid/setgid.
func (u *unpacker) meta(fd int, name string, hdr *tar.Header, xattrs bool) error {
	if name == "." {
		dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer closeFD(dfd)
		fd = dfd
	}
	if u.asRoot {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if xattrs {
		u.setXattrs(fd, hdr)
	}
	return nil
}

// safeXattr reports whether an xattr from a layer may be set on the host:
// only the user namespace, which grants nothing (no capabilities, no
// security labels, no trusted.overlay tricks).
func safeXattr(name string) bool { return strings.HasPrefix(name, "user.") }

func (u *unpacker) setXattrs(fd int, hdr *tar.Header) {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if !safeXattr(name) || unix.Fsetxattr(fd, name, []byte(v), 0) != nil {
			u.skipped.Xattrs++
		}
	}
}

func timespecs(t time.Time) []unix.Timespec {
	ts := unix.NsecToTimespec(t.UnixNano())
	return []unix.Timespec{ts, ts}
}

func utimesAt(pfd int, base string, ts []unix.Timespec) error {
	return unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
