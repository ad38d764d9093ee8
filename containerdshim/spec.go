package containerdshim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// Labels the shim puts on every container it creates, so that `nucleusctl
// ps` shows where a container came from and the shim finds its own.
const (
	LabelNamespace = "io.containerd.namespace"
	LabelID        = "io.containerd.id"
	LabelRuntime   = "io.containerd.runtime"
	runtimeName    = "io.containerd.nucleus.v2"
)

// defaultCaps is the capability set containerd (and docker) give a container
// by default. nucleusd applies its own hardened set; a spec asking for any
// capability outside this one asks for more than Nucleus grants, and is
// refused rather than silently weakened.
var defaultCaps = map[string]bool{
	"CAP_CHOWN": true, "CAP_DAC_OVERRIDE": true, "CAP_FSETID": true, "CAP_FOWNER": true,
	"CAP_MKNOD": true, "CAP_NET_RAW": true, "CAP_SETGID": true, "CAP_SETUID": true,
	"CAP_SETFCAP": true, "CAP_SETPCAP": true, "CAP_NET_BIND_SERVICE": true,
	"CAP_SYS_CHROOT": true, "CAP_KILL": true, "CAP_AUDIT_WRITE": true,
}

// systemMounts are the destinations every OCI runtime spec carries and
// nucleusd sets up itself inside the sandbox; they are not volumes.
var systemMounts = map[string]bool{
	"/proc": true, "/dev": true, "/dev/pts": true, "/dev/shm": true, "/dev/mqueue": true,
	"/sys": true, "/sys/fs/cgroup": true, "/run": true,
}

// namePattern is what nucleusd accepts as a container name.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// ContainerName is the nucleusd name of containerd's task id in namespace
// ns: "<ns>.<id>" when that is a valid name and ns has no dot (so the
// first dot splits it back unambiguously), otherwise "ctrd-" and a hash of
// both (which has no dot, so the two forms never collide).
func ContainerName(ns, id string) string {
	name := ns + "." + id
	if !strings.Contains(ns, ".") && namePattern.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(ns + "/" + id))
	return "ctrd-" + hex.EncodeToString(sum[:])[:32]
}

// Task is what the mapping needs from containerd's Create call.
type Task struct {
	Namespace string
	ID        string
	Bundle    string // absolute; its rootfs/ is the task's root
	Spec      *specs.Spec
	Stdin     bool // containerd passed a stdin FIFO
}

// MapSpec turns a task's OCI spec into a nucleusd ContainerSpec, or an
// errdefs.InvalidArgument/PermissionDenied error naming what Nucleus does
// not do. Everything not mapped here is hardened by nucleusd as for any
// other API caller.
func MapSpec(t Task) (*nucleusv1.ContainerSpec, error) {
	s := t.Spec
	if s == nil || s.Process == nil {
		return nil, errdefs.InvalidArgument("config.json: no process")
	}
	p := s.Process
	if len(p.Args) == 0 {
		return nil, errdefs.InvalidArgument("config.json: process.args is empty")
	}
	if err := refuseCaps(p.Capabilities); err != nil {
		return nil, err
	}
	if err := refuseLinux(podNamespaces(s)); err != nil {
		return nil, err
	}
	out := &nucleusv1.ContainerSpec{
		Name:     ContainerName(t.Namespace, t.ID),
		Args:     p.Args,
		Env:      p.Env,
		Cwd:      p.Cwd,
		Hostname: s.Hostname,
		User: &nucleusv1.User{
			Uid: p.User.UID, Gid: p.User.GID, AdditionalGids: p.User.AdditionalGids,
		},
		Labels: map[string]string{
			LabelNamespace: t.Namespace, LabelID: t.ID, LabelRuntime: runtimeName,
		},
		Tty:       p.Terminal,
		OpenStdin: t.Stdin && !p.Terminal,
	}
	if p.Terminal && p.ConsoleSize != nil && p.ConsoleSize.Height > 0 && p.ConsoleSize.Width > 0 {
		out.TerminalSize = &nucleusv1.TerminalSize{Rows: uint32(p.ConsoleSize.Height), Cols: uint32(p.ConsoleSize.Width)}
	}
	root, err := rootfs(t.Bundle, s.Root)
	if err != nil {
		return nil, err
	}
	out.Rootfs = root
	vols, err := volumes(s.Mounts)
	if err != nil {
		return nil, err
	}
	out.Volumes = vols
	if s.Linux != nil {
		out.Resources = resources(s.Linux.Resources)
	}
	return out, nil
}

// NetnsPath is the network namespace the spec asks to join ("" for a new
// one).
func NetnsPath(s *specs.Spec) string {
	if s == nil || s.Linux == nil {
		return ""
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			return ns.Path
		}
	}
	return ""
}

// rootfs resolves the spec's root against the bundle: containerd mounts
// the snapshot at <bundle>/rootfs.
func rootfs(bundle string, r *specs.Root) (string, error) {
	path := "rootfs"
	if r != nil && r.Path != "" {
		path = r.Path
	}
	if !filepath.IsAbs(path) {
		if !filepath.IsAbs(bundle) {
			return "", errdefs.InvalidArgument("bundle %q is not absolute", bundle)
		}
		path = filepath.Join(bundle, path)
	}
	return filepath.Clean(path), nil
}

// refuseLinux refuses host namespaces, devices and other privileged asks.
func refuseLinux(l *specs.Linux) error {
	if l == nil {
		return errdefs.InvalidArgument("config.json: no linux section")
	}
	have := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range l.Namespaces {
		have[ns.Type] = true
		if ns.Path != "" && ns.Type != specs.NetworkNamespace {
			return errdefs.PermissionDenied("joining an existing %s namespace (%s) is refused: Nucleus runs each task in its own sandbox", ns.Type, ns.Path)
		}
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
		if !have[want] {
			return errdefs.PermissionDenied("the host's %s namespace is refused (host namespaces are not available under Nucleus)", want)
		}
	}
	if len(l.Devices) > 0 {
		return errdefs.PermissionDenied("devices are refused (%s...): Nucleus gives a sandbox no host devices", l.Devices[0].Path)
	}
	return nil
}

// refuseCaps refuses capabilities beyond containerd's default set (what
// --privileged or --cap-add ask for).
func refuseCaps(c *specs.LinuxCapabilities) error {
	if c == nil {
		return nil
	}
	extra := map[string]bool{}
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		for _, capName := range set {
			if !defaultCaps[strings.ToUpper(capName)] {
				extra[capName] = true
			}
		}
	}
	if len(extra) == 0 {
		return nil
	}
	names := make([]string, 0, len(extra))
	for n := range extra {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 3 {
		names = append(names[:3], fmt.Sprintf("and %d more", len(names)-3))
	}
	return errdefs.PermissionDenied("privileged tasks and added capabilities are refused (%s): Nucleus grants no capability beyond the default set", strings.Join(names, ", "))
}

// volumes maps bind and tmpfs mounts; the system mounts every spec has are
// nucleusd's own business.
func volumes(mounts []specs.Mount) ([]*nucleusv1.Volume, error) {
	var out []*nucleusv1.Volume
	for _, m := range mounts {
		if systemMounts[m.Destination] || strings.HasPrefix(m.Destination, "/sys/") || strings.HasPrefix(m.Destination, "/proc/") {
			continue
		}
		ro := hasOption(m.Options, "ro")
		switch {
		case m.Type == "tmpfs":
			out = append(out, &nucleusv1.Volume{Type: nucleusv1.VolumeType_VOLUME_TYPE_TMPFS, Destination: m.Destination, ReadOnly: ro})
		case m.Type == "bind" || hasOption(m.Options, "bind") || hasOption(m.Options, "rbind"):
			out = append(out, &nucleusv1.Volume{Type: nucleusv1.VolumeType_VOLUME_TYPE_BIND, Source: m.Source, Destination: m.Destination, ReadOnly: ro})
		default:
			return nil, errdefs.PermissionDenied("mount of type %q at %s is refused: only bind and tmpfs mounts are supported", m.Type, m.Destination)
		}
	}
	return out, nil
}

func hasOption(opts []string, want string) bool {
	for _, o := range opts {
		if o == want {
			return true
		}
	}
	return false
}

// resources maps memory, CPU quota and pids. CPU shares are a relative
// weight, not a cap, and have no nucleusd counterpart: they are left to the
// daemon's default.
func resources(r *specs.LinuxResources) *nucleusv1.Resources {
	if r == nil {
		return nil
	}
	out := &nucleusv1.Resources{}
	if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit > 0 {
		out.MemoryBytes = *r.Memory.Limit
	}
	if r.CPU != nil && r.CPU.Quota != nil && *r.CPU.Quota > 0 {
		period := uint64(100000)
		if r.CPU.Period != nil && *r.CPU.Period > 0 {
			period = *r.CPU.Period
		}
		out.Cpus = float64(*r.CPU.Quota) / float64(period)
	}
	if r.Pids != nil && r.Pids.Limit > 0 {
		out.Pids = r.Pids.Limit
	}
	return out
}
