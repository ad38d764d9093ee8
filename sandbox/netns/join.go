package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// nsGetNSType is the NS_GET_NSTYPE ioctl of nsfs files (linux/nsfs.h,
// _IO(0xb7, 0x3)): it answers the CLONE_NEW* flag of the namespace.
const nsGetNSType = 0xb703

// CheckJoinable reports whether path names an existing network namespace
// a container may join, and returns it with symlinks resolved (the path
// runsc is given). The file must be a network namespace (an nsfs file whose
// type is CLONE_NEWNET: INVALID_ARGUMENT otherwise), lie inside one of dirs
// after resolution (PERMISSION_DENIED otherwise) and not be the namespace
// the caller itself runs in, the host's (PERMISSION_DENIED: that is network
// "host", which the operator allows separately). Nothing is changed.
func CheckJoinable(path string, dirs []string) (string, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return "", errdefs.InvalidArgument("network_namespace %q: want a clean absolute path", path)
	}
	if err := isNetNS(path); err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", errdefs.InvalidArgument("network_namespace %q: resolving the path: %v", path, err)
	}
	if !insideAny(resolved, dirs) {
		return "", errdefs.PermissionDenied("network_namespace %q (%s) is outside the directories the operator allows ([network] joinable_namespace_dirs = %v)", path, resolved, dirs)
	}
	// Checked again on the resolved path: the file runsc will open.
	if err := isNetNS(resolved); err != nil {
		return "", err
	}
	// thread-self, not self: /proc/self is the thread group leader, which
	// a goroutine that entered a new namespace with its thread locked may
	// have left wedged in that namespace.
	if same, err := sameFile(resolved, "/proc/thread-self/ns/net"); err != nil {
		return "", fmt.Errorf("comparing with nucleusd's own network namespace: %w", err)
	} else if same {
		return "", errdefs.PermissionDenied("network_namespace %q is the host's network namespace: use network \"host\" if the operator allows it", path)
	}
	return resolved, nil
}

// isNetNS checks that path opens as a network namespace.
func isNetNS(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return errdefs.InvalidArgument("network_namespace %q: %v", path, err)
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return errdefs.InvalidArgument("network_namespace %q: %v", path, err)
	}
	if st.Type != unix.NSFS_MAGIC {
		return errdefs.InvalidArgument("network_namespace %q is not a namespace file (nsfs): pin one with `ip netns add` or a CNI plugin", path)
	}
	t, err := unix.IoctlRetInt(fd, nsGetNSType)
	if err != nil {
		return errdefs.InvalidArgument("network_namespace %q: asking the namespace's type: %v", path, err)
	}
	if t != unix.CLONE_NEWNET {
		return errdefs.InvalidArgument("network_namespace %q is a namespace but not a network namespace", path)
	}
	return nil
}

// insideAny reports whether the resolved path lies strictly below one of
// dirs (each resolved through symlinks; a missing one matches nothing).
func insideAny(path string, dirs []string) bool {
	for _, d := range dirs {
		rd, err := filepath.EvalSymlinks(d)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(rd, path)
		if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// CheckAddressed reports whether the network namespace at path has an
// interface with a global unicast address, which is what gVisor's netstack
// takes over: runsc --network=sandbox moves the addresses of the
// namespace's interfaces into the sandbox and removes them from the host
// side, so a namespace a sandbox has already joined (or joined and left)
// has none left and a second sandbox would get no network
// (FAILED_PRECONDITION).
func CheckAddressed(path string) error {
	h, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("opening network namespace %s: %w", path, err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", path, err)
	}
	defer nh.Close()
	addrs, err := nh.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("listing the addresses in %s: %w", path, err)
	}
	for _, a := range addrs {
		if a.IP.IsGlobalUnicast() {
			return nil
		}
	}
	return errdefs.FailedPrecondition("network namespace %s has no interface with an address: a gVisor sandbox takes a namespace's addresses over when it joins, so only one Nucleus container per namespace gets its network (the first one, and only while the namespace is fresh)", path)
}
