package hooks

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ruleError is a broken validation rule; its message names the path and
// the rule. Callers wrap it with the set, phase and index, and an errdefs kind.
type ruleError struct{ msg string }

func (e *ruleError) Error() string { return e.msg }

func broken(format string, args ...any) error { return &ruleError{msg: fmt.Sprintf(format, args...)} }

// checkTrustedDirs validates the trusted-directory list itself.
func checkTrustedDirs(dirs []string) error {
	for _, d := range dirs {
		switch {
		case !filepath.IsAbs(d) || filepath.Clean(d) != d || strings.ContainsRune(d, 0):
			return fmt.Errorf("trusted directory %q must be an absolute, clean path", d)
		case d == "/":
			return fmt.Errorf("trusted directory %q would trust every file on the host", d)
		}
	}
	return nil
}

// openVerified opens the hook at path and checks every rule on the opened
// inodes, never on a path looked up again. It walks from "/" one component
// at a time with openat(O_PATH|O_NOFOLLOW), so a symlink anywhere is seen
// and refused rather than followed, checks the owner and mode of "/" and of
// every directory on the way (not only those from the trusted directory
// down: a writable ancestor could swap the trusted directory itself), and
// returns an O_PATH fd of the checked file: exec through that fd runs
// exactly the inode that was validated.
func openVerified(path string, trusted []string, daemonUID int) (int, error) {
	if path == "" || !filepath.IsAbs(path) {
		return -1, broken("hook path %q must be absolute", path)
	}
	if filepath.Clean(path) != path || strings.ContainsRune(path, 0) {
		return -1, broken("hook path %q must be clean (no '.', '..', '//' or trailing '/')", path)
	}
	base := ""
	for _, d := range trusted {
		if strings.HasPrefix(path, d+"/") && len(d) > len(base) {
			base = d
		}
	}
	if base == "" {
		return -1, broken("%s is not under a trusted directory (%s)", path, strings.Join(trusted, ", "))
	}

	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, broken("cannot stat /: %v", err)
	}
	if rule := checkOwnerAndMode("/", "directory", &st, daemonUID); rule != nil {
		unix.Close(fd)
		return -1, rule
	}
	comps := strings.Split(path[1:], "/")
	cur := ""
	for i, name := range comps {
		cur += "/" + name
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return -1, broken("%s does not exist", cur)
			}
			return -1, broken("cannot open %s: %v", cur, err)
		}
		fd = next
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, broken("cannot stat %s: %v", cur, err)
		}
		var rule error
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			rule = broken("%s is a symlink; hooks are never reached through symlinks", cur)
		case i == len(comps)-1:
			rule = checkFile(cur, &st, daemonUID)
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			rule = broken("%s is not a directory", cur)
		default:
			rule = checkOwnerAndMode(cur, "directory", &st, daemonUID)
		}
		if rule != nil {
			unix.Close(fd)
			return -1, rule
		}
	}
	return fd, nil
}

// checkFile applies the file rules to the hook's own inode.
func checkFile(path string, st *unix.Stat_t, daemonUID int) error {
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG {
		return broken("%s is not a regular file (it is a %s)", path, fileType(t))
	}
	if st.Mode&0o111 == 0 {
		return broken("%s is not executable (mode %04o)", path, st.Mode&0o7777)
	}
	if err := checkOwnerAndMode(path, "file", st, daemonUID); err != nil {
		return err
	}
	if st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		return broken("%s has the setuid or setgid bit (mode %04o)", path, st.Mode&0o7777)
	}
	return nil
}

// checkOwnerAndMode applies the ownership rules shared by the hook and
// every directory above it, from "/" down: owned by root or nucleusd's uid
// and writable by its owner alone. Whoever may write a directory on the
// path may rename another directory or file into its place, so a
// group-writable component lets the group choose what runs as root, even
// when root owns it; and a sticky world-writable directory such as /tmp is
// refused too (the sticky bit protects existing entries, but the
// directory is still one anyone may create names in, a race away from a
// planted path): hooks belong in a directory only root can change.
func checkOwnerAndMode(path, what string, st *unix.Stat_t, daemonUID int) error {
	mode := st.Mode & 0o7777
	switch {
	case st.Uid != 0 && int64(st.Uid) != int64(daemonUID):
		return broken("%s %s is owned by uid %d; it must be owned by root or nucleusd's uid %d", what, path, st.Uid, daemonUID)
	case mode&0o002 != 0 && mode&unix.S_ISVTX != 0:
		return broken("%s %s is world-writable (mode %04o; the sticky bit does not make it safe for hooks)", what, path, mode)
	case mode&0o002 != 0:
		return broken("%s %s is world-writable (mode %04o)", what, path, mode)
	case mode&0o020 != 0:
		return broken("%s %s is group-writable (mode %04o, gid %d); only its owner may write it", what, path, mode, st.Gid)
	}
	return nil
}

func fileType(t uint32) string {
	switch t {
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	}
	return fmt.Sprintf("file of type %#o", t)
}
