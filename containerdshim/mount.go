package containerdshim

import (
	"fmt"
	"os"
	"strings"

	"github.com/containerd/containerd/api/types"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// mountFlags are the mount(2) flags among containerd's mount options; the
// rest are file-system data (overlay's lowerdir=..., upperdir=...).
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "nodev": {false, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "bind": {false, unix.MS_BIND},
	"rbind": {false, unix.MS_BIND | unix.MS_REC}, "noatime": {false, unix.MS_NOATIME},
	"relatime": {false, unix.MS_RELATIME}, "sync": {false, unix.MS_SYNCHRONOUS},
}

// parseMountOptions splits containerd's options into flags and data.
func parseMountOptions(opts []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, o)
	}
	return flags, strings.Join(data, ",")
}

// mountRootfs mounts the snapshot containerd passed (containerd 1.6 leaves
// that to the shim; 2.x may have mounted it already: no mounts then) on
// target. It reports whether it mounted anything.
func mountRootfs(mounts []*types.Mount, target string) (bool, error) {
	if len(mounts) == 0 {
		return false, nil
	}
	if len(mounts) > 1 {
		return false, errdefs.InvalidArgument("rootfs: %d mounts; one snapshot mount expected", len(mounts))
	}
	m := mounts[0]
	if err := os.MkdirAll(target, 0o711); err != nil {
		return false, fmt.Errorf("rootfs: %w", err)
	}
	flags, data := parseMountOptions(m.Options)
	if err := unix.Mount(m.Source, target, m.Type, flags, data); err != nil {
		return false, fmt.Errorf("rootfs: mount %s (%s) on %s: %w", m.Type, m.Source, target, err)
	}
	return true, nil
}

// unmountRootfs undoes mountRootfs; the sandbox may still hold it while
// it winds down, so the mount is detached.
func unmountRootfs(target string) {
	_ = unix.Unmount(target, unix.MNT_DETACH)
}
