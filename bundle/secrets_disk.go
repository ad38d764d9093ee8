package bundle

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// stageSecrets mounts a private tmpfs (mode 0700, size-capped, nosuid,
// nodev, noexec) at dir, which must not exist yet but whose parent must,
// and writes each secret there with O_EXCL|O_NOFOLLOW, owned by uid:gid
// with its mode. Nothing touches persistent disk.
func stageSecrets(dir string, secrets []stagedSecret, size int64, uid, gid uint32) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	data := fmt.Sprintf("mode=0700,size=%d,nr_inodes=%d", size, len(secrets)+16)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, data); err != nil {
		return fmt.Errorf("mounting the secrets tmpfs at %s: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making %s private: %w", dir, err)
	}
	dirFD, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dirFD)
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(dirFD, &sfs); err != nil {
		return err
	}
	if sfs.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("secrets directory %s is not on a tmpfs after mounting one", dir)
	}
	for _, s := range secrets {
		if err := writeSecret(dirFD, s, uid, gid); err != nil {
			return fmt.Errorf("staging secret %q: %w", s.Name, err)
		}
	}
	return nil
}

func writeSecret(dirFD int, s stagedSecret, uid, gid uint32) error {
	fd, err := unix.Openat(dirFD, s.Name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), s.Name)
	defer f.Close()
	if _, err := f.Write(s.Data); err != nil {
		return err
	}
	if err := f.Chown(int(uid), int(gid)); err != nil {
		return err
	}
	return f.Chmod(s.Mode)
}

// wipeSecrets overwrites every secret file in dir with zeros, removes it,
// unmounts the tmpfs and removes dir. A missing dir is not an error.
func wipeSecrets(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("secrets path %s is not a directory; refusing to touch it", dir)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		return err
	}
	mounted, err := isMountPoint(dir)
	if err != nil {
		return err
	}
	if mounted && sfs.Type == unix.TMPFS_MAGIC {
		if err := wipeDir(dir); err != nil {
			return err
		}
		if err := unmountAll(dir); err != nil {
			return err
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing secrets directory: %w", err)
	}
	return nil
}

// wipeDir zeroes and unlinks the regular files of dir (flat, as staged).
func wipeDir(dir string) error {
	dirFD, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dirFD), dir)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(dirFD, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			errs = append(errs, zeroFile(dirFD, name, st.Size))
		}
		flags := 0
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			flags = unix.AT_REMOVEDIR
		}
		if err := unix.Unlinkat(dirFD, name, flags); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func zeroFile(dirFD int, name string, size int64) error {
	fd, err := unix.Openat(dirFD, name, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	zeros := make([]byte, min(size, 64<<10))
	for off := int64(0); off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
	}
	return f.Sync()
}
