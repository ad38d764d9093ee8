package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Remove undoes Create and is idempotent: it wipes (overwrites) and
// unmounts the secrets tmpfs, unmounts the pinned rootfs and volumes, and
// removes the bundle directory. It never descends into a mount, so a pin
// that cannot be unmounted makes it fail rather than delete host data.
func Remove(paths Paths) error {
	var errs []error
	if paths.SecretsDir != "" {
		if !filepath.IsAbs(paths.SecretsDir) || filepath.Clean(paths.SecretsDir) == "/" {
			errs = append(errs, fmt.Errorf("refusing to remove secrets %q: not an absolute path", paths.SecretsDir))
		} else if err := wipeSecrets(paths.SecretsDir); err != nil {
			errs = append(errs, fmt.Errorf("removing secrets %s: %w", paths.SecretsDir, err))
		}
	}
	if paths.BundleDir != "" {
		if err := removeBundle(Dir(paths.BundleDir)); err != nil {
			errs = append(errs, fmt.Errorf("removing bundle %s: %w", paths.BundleDir, err))
		}
	}
	return errors.Join(errs...)
}

func removeBundle(d Dir) error {
	if !filepath.IsAbs(string(d)) || filepath.Clean(string(d)) == "/" {
		return fmt.Errorf("refusing to remove %q: not an absolute bundle path", d)
	}
	if _, err := os.Lstat(string(d)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	if names, err := os.ReadDir(d.volumesPath()); err == nil {
		for _, n := range names {
			errs = append(errs, unmountAll(filepath.Join(d.volumesPath(), n.Name())))
		}
	}
	if err := unmountAll(d.RootfsPath()); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, unmountImageLayer(d)) // the overlay's lower, once the overlay is gone
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	parentFD, err := unix.Open(filepath.Dir(string(d)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(parentFD)
	return removeTree(parentFD, filepath.Base(string(d)))
}

// removeTree removes name below parentFD and everything in it, without
// following symlinks and refusing to cross into another mount.
func removeTree(parentFD int, name string) error {
	fd, err := openat2(parentFD, name, &unix.OpenHow{
		Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: inRoot,
	})
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ELOOP):
		if err := unix.Unlinkat(parentFD, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("removing %s: %w", name, err)
		}
		return nil
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("refusing to remove %s: a mount is still attached there", name)
	case err != nil:
		return err
	}
	dir := os.NewFile(uintptr(fd), name)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeTree(fd, n); err != nil {
			return fmt.Errorf("in %s: %w", name, err)
		}
	}
	if err := unix.Unlinkat(parentFD, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}
