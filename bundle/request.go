package bundle

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Request is the typed container request; the gRPC API maps onto it 1:1.
type Request struct {
	// Args is the process argv. Required; Args[0] is absolute or looked up
	// by the sandbox in the fixed PATH.
	Args []string
	// Env holds "KEY=VALUE" entries added to the fixed PATH. A PATH entry
	// replaces the default one; keys must be unique.
	Env []string
	// User is the identity of the process inside the sandbox.
	User User
	// Cwd is the working directory, "/" when empty.
	Cwd string
	// Hostname defaults to the first 12 characters of the container id.
	Hostname string
	// Annotations are data only: they never select host binaries, paths or
	// hooks. Keys use reverse-domain notation outside reserved namespaces.
	Annotations map[string]string
	// Labels are data only, recorded as annotations under LabelPrefix.
	Labels map[string]string
	// Sysctls are limited to the namespaced sysctls runsc honours.
	Sysctls map[string]string
	// UserNamespace, when set, runs the sandbox in a new user namespace.
	UserNamespace *UserNamespace
	// Seccomp is an OCI seccomp profile applied inside the sandbox; runsc
	// must run with --oci-seccomp (Policy.OCISeccomp).
	Seccomp *specs.LinuxSeccomp
	// Rootfs is a host directory used read-only as the root filesystem.
	// Empty means an empty rootfs with the host's /bin, /sbin, /usr, /lib
	// and /lib64 bound read-only.
	Rootfs string
	// Image, when set, makes an image's unpacked tree the root instead
	// (exclusive with Rootfs): see ImageRoot.
	Image *ImageRoot
	// Volumes are bind mounts of host paths and tmpfs mounts.
	Volumes []Volume
	// Secrets are staged on a tmpfs and bound read-only into the sandbox.
	Secrets []Secret
	// Resources are the sandbox's limits.
	Resources Resources
	// Terminal runs the process on a pseudo-terminal (process.terminal):
	// runsc then sends its master to the --console-socket.
	Terminal bool
	// Pod, when set, is the runsc id of the sandbox this container joins as
	// one more container (runsc's CRI annotations), instead of a sandbox of
	// its own.
	Pod string
}

// User is the identity of the container process.
type User struct {
	UID, GID       uint32
	AdditionalGIDs []uint32
}

// UserNamespace holds the ID mappings of a new user namespace.
type UserNamespace struct {
	UIDMappings []IDMapping
	GIDMappings []IDMapping
}

// IDMapping maps Size IDs starting at ContainerID to IDs starting at HostID.
type IDMapping struct {
	ContainerID, HostID, Size uint32
}

// VolumeType says what backs a volume.
type VolumeType string

// The volume types.
const (
	VolumeBind  VolumeType = "bind"  // a host path under Policy.AllowedHostPaths
	VolumeTmpfs VolumeType = "tmpfs" // an in-memory filesystem of SizeBytes
)

// Volume is a mount requested by the caller.
type Volume struct {
	Type        VolumeType
	Source      string // host path, bind only
	Destination string // absolute path inside the sandbox
	ReadOnly    bool
	SizeBytes   int64 // tmpfs only, required
}

// Secret is a file whose bytes come from the request. It is never written
// to persistent disk, and its Data never appears in fmt output or JSON.
type Secret struct {
	Name        string      // file name; [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}
	Data        []byte      // the secret bytes
	Destination string      // default /run/secrets/<Name>
	Mode        os.FileMode // permission bits only; default 0400
}

// Format prints a Secret without its Data, whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{Name:%q Destination:%q Mode:%#o Data:[%d bytes redacted]}", s.Name, s.Destination, uint32(s.Mode), len(s.Data))
}

// MarshalJSON encodes a Secret without its Data, so a request persisted by
// mistake never carries secret bytes to disk.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name        string
		Destination string `json:",omitempty"`
		Mode        uint32 `json:",omitempty"`
		DataBytes   int
	}{s.Name, s.Destination, uint32(s.Mode), len(s.Data)})
}

// Resources are the sandbox's limits; zero means unlimited (or the default).
type Resources struct {
	MemoryBytes  int64   // host memory cgroup limit for the whole sandbox
	CPUs         float64 // fractional CPUs, e.g. 0.5; becomes quota/period
	Pids         int64   // in-sandbox RLIMIT_NPROC; never the host pids cgroup
	MemlockBytes int64   // RLIMIT_MEMLOCK, 64 KiB when zero
}
