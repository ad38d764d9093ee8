package bundle

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the fixed PATH of every sandbox; the host's is never used.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LabelPrefix is the annotation prefix under which labels are recorded.
const LabelPrefix = "dev.nucleus.label."

// SecretsMountDir is where secrets appear without an explicit destination.
const SecretsMountDir = "/run/secrets"

// rootfsDirName and configName are the fixed names inside a bundle.
const (
	rootfsDirName  = "rootfs"
	configName     = "config.json"
	volumesDirName = "volumes"
)

// hostBoundDirs are bound read-only from the host into the default empty
// rootfs: a fixed list, never derived from $PATH.
var hostBoundDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64"}

// sensitiveHostPaths may never be a bind source, lie under one, or contain
// one; Policy.DeniedHostPaths adds nucleusd's own root and state dirs.
var sensitiveHostPaths = []string{"/proc", "/sys", "/dev", "/boot", "/etc", "/root", "/run", "/var/run"}

// forbiddenDestinations may never be a user mount destination or its parent.
var forbiddenDestinations = []string{"/proc", "/sys", "/dev"}

// maskedPaths hide kernel interfaces that leak host state. runsc ignores
// maskedPaths and readonlyPaths (gVisor's own procfs and sysfs expose none
// of these and keep /proc/sys read-only for processes without
// capabilities); they stay in the spec as the floor for any runtime, and
// the e2e tests check the effect from inside.
var maskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sysrq-trigger",
	"/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup",
	"/proc/config.gz", "/proc/kallsyms", "/sys/firmware",
}

// readonlyPaths are kernel interfaces kept read-only.
var readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"}

// namespaces every sandbox gets (a user namespace only on request).
var namespaces = []specs.LinuxNamespaceType{
	specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace,
	specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace,
}

// charDevice returns the spec entry of a 0666 root-owned character device.
func charDevice(path string, major, minor int64) specs.LinuxDevice {
	mode := os.FileMode(0o666)
	var root uint32
	return specs.LinuxDevice{Path: path, Type: "c", Major: major, Minor: minor, FileMode: &mode, UID: &root, GID: &root}
}

// defaultDevices are the only devices of a sandbox.
func defaultDevices() []specs.LinuxDevice {
	return []specs.LinuxDevice{
		charDevice("/dev/null", 1, 3),
		charDevice("/dev/zero", 1, 5),
		charDevice("/dev/full", 1, 7),
		charDevice("/dev/random", 1, 8),
		charDevice("/dev/urandom", 1, 9),
	}
}

// reservedAnnotationPrefixes are namespaces that runtimes interpret (runsc
// reads dev.gvisor.*, CRI reads io.kubernetes.*) or that the spec reserves;
// a caller may not set keys there, so annotations stay data only.
var reservedAnnotationPrefixes = []string{
	"org.opencontainers", "dev.gvisor", "io.kubernetes", "io.containerd",
	"io.katacontainers", "run.oci", "dev.nucleus", "com.nvidia",
}

// allowedSysctls are the namespaced (sandbox-local) sysctls runsc honours;
// runsc silently ignores all others, so they are refused. Each maps to a
// check of its value.
var allowedSysctls = map[string]func(string) error{
	"net.ipv6.conf.all.disable_ipv6": sysctlBool,
	"fs.nr_open":                     sysctlRange(1024, 1<<20),
}
