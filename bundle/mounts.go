package bundle

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Mount option sets.
var (
	hostBindOptions   = []string{"rbind", "ro", "nosuid", "nodev"}
	secretBindOptions = []string{"bind", "ro", "nosuid", "nodev", "noexec"}
)

func sizeOpt(n int64) string { return "size=" + strconv.FormatInt(n, 10) }

// defaultMounts are the mounts every sandbox gets, in mount order.
func defaultMounts(pol *Policy) []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", sizeOpt(pol.ShmSizeBytes)}},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "mode=1777", sizeOpt(pol.TmpSizeBytes)}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
}

// isBind reports whether runsc serves m through the gofer from the host.
func isBind(m specs.Mount) bool { return m.Type == "bind" }
