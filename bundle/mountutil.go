package bundle

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mountID returns the id of the mount holding p (not following a final
// symlink).
func mountID(p string) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, err
	}
	return stx.Mnt_id, nil
}

// isMountPoint reports whether p is the root of a mount (bind mounts of
// the same filesystem included, which st_dev would miss).
func isMountPoint(p string) (bool, error) {
	id, err := mountID(p)
	if err != nil {
		return false, err
	}
	parent, err := mountID(filepath.Dir(p))
	if err != nil {
		return false, err
	}
	return id != parent, nil
}

// unmountAll removes every mount stacked on p, lazily when busy. A missing
// p is not an error.
func unmountAll(p string) error {
	for range 16 {
		mp, err := isMountPoint(p)
		if errors.Is(err, unix.ENOENT) || (err == nil && !mp) {
			return nil
		}
		if err != nil {
			return err
		}
		err = unix.Unmount(p, unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(p, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmounting %s: %w", p, err)
		}
	}
	return fmt.Errorf("unmounting %s: still mounted after 16 attempts", p)
}
