package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// The mount-point layer of an image container with bind volumes or
// secrets. runsc's gofer bind-mounts each of them into the root directory
// on the host, making missing mount points there (MkdirAll, following the
// root's symlinks); an image's root is its shared read-only tree, where
// nothing may be made. So such a container's root is a host overlay: the
// image tree (id-mapped for the container's user namespace) as its only
// lower layer, and as upper a directory of the container's own bundle.
// Create makes the mount points through the overlay before runsc starts
// (copying up their parents with the image's owners and modes), then
// makes the overlay read-only: the upper holds nothing but those mount
// points, the shared tree is never written, and two containers never see
// each other's. The container's own writes still go to the sandbox's
// memory layer (the rootfs overlay annotation), as without volumes.
const (
	lowerDirName = "lower"      // the id-mapped image tree (user namespace only)
	layerDirName = "mountpoint" // upper/ and work/ of the overlay
)

// lowerPath is where the id-mapped image tree is mounted for the overlay.
func (d Dir) lowerPath() string { return filepath.Join(string(d), lowerDirName) }

// layerPath holds the overlay's upper and work directories.
func (d Dir) layerPath() string { return filepath.Join(string(d), layerDirName) }

// mountImageLayer mounts at rootfs the overlay of the image tree p.rootfs
// under a fresh upper directory in the bundle; the caller makes the mount
// points and then makes it read-only.
func mountImageLayer(d Dir, p *plan, rootfs string) error {
	lower := p.rootfs.Path
	if p.idmap != nil {
		lower = d.lowerPath()
		if err := os.Mkdir(lower, 0o700); err != nil {
			return err
		}
		if err := idmappedBind(p.rootfs.Path, lower, p.idmap); err != nil {
			return err
		}
	}
	upper, work := filepath.Join(d.layerPath(), "upper"), filepath.Join(d.layerPath(), "work")
	for _, dir := range []string{d.layerPath(), upper, work} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
	}
	// The overlay's "/" takes the upper directory's attributes: give it
	// the image root's (seen through the id-mapped lower).
	var st unix.Stat_t
	if err := unix.Stat(lower, &st); err != nil {
		return err
	}
	if err := os.Lchown(upper, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := os.Chmod(upper, os.FileMode(st.Mode&0o7777)); err != nil {
		return err
	}
	for _, path := range []string{lower, upper, work} {
		if strings.ContainsAny(path, ",:\\") {
			return fmt.Errorf("overlay directory %q contains ',', ':' or '\\', which the overlay options cannot carry", path)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", rootfs, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP) {
			return errdefs.FailedPrecondition("bind volumes and secrets on an image container need an overlay of its image tree with an upper directory in %s, and this host refused it (%v): the daemon's root must be on a filesystem overlayfs accepts as upper (ext4, xfs, btrfs, tmpfs)", d, err)
		}
		return fmt.Errorf("mounting the mount-point layer over image tree %s: %w", p.rootfs.Path, err)
	}
	if err := unix.Mount("", rootfs, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making %s private: %w", rootfs, err)
	}
	return nil
}

// unmountImageLayer removes the id-mapped lower once the overlay over it
// is gone (Remove unmounts the rootfs first); nothing mounted is no error.
func unmountImageLayer(d Dir) error {
	err := unmountAll(d.lowerPath())
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}
