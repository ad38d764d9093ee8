package bundle

import (
	"path"
	"slices"
	"strings"
)

// devNames are the entries of the sandbox's /dev (gVisor's devtmpfs and
// the spec's default mounts) that no volume may replace.
var devNames = []string{
	"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx", "pts", "shm", "mqueue",
	"fd", "stdin", "stdout", "stderr", "core", "net", "tun", "fuse", "kmsg",
}

// devFileDestination reports whether dst is a place a single-file bind
// volume may go although /dev is otherwise forbidden: a new name directly
// under /dev that is not one of the sandbox's devices. Kubernetes binds
// each container's termination message file at /dev/termination-log (a
// pod's terminationMessagePath). The caller checks that the source is a
// regular file.
func devFileDestination(dst string) (string, bool) {
	if !strings.HasPrefix(dst, "/dev/") || hasDotDot(dst) {
		return "", false
	}
	clean := path.Clean(dst)
	name := strings.TrimPrefix(clean, "/dev/")
	if name == "" || strings.Contains(name, "/") || strings.HasPrefix(name, ".") || slices.Contains(devNames, name) {
		return "", false
	}
	if err := checkPathString("destination", clean); err != nil || len(name) > maxNameBytes {
		return "", false
	}
	return clean, true
}
