package containerdshim

import (
	"errors"
	"io"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// baseSpec is what `ctr run` generates for `sh -c "echo hi"`.
func baseSpec() *specs.Spec {
	mem, quota, period := int64(64<<20), int64(50000), uint64(100000)
	return &specs.Spec{
		Hostname: "box",
		Root:     &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"sh", "-c", "echo hi"}, Env: []string{"PATH=/bin"}, Cwd: "/",
			User:         specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}},
			Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_KILL"}, Effective: []string{"CAP_CHOWN"}},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"},
			{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "ro"}},
			{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs"},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}, {Type: "network"}},
			Resources: &specs.LinuxResources{
				Memory: &specs.LinuxMemory{Limit: &mem},
				CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
				Pids:   &specs.LinuxPids{Limit: 100},
			},
		},
	}
}

func TestMapSpec(t *testing.T) {
	want := &nucleusv1.ContainerSpec{
		Name: "default.web",
		Args: []string{"sh", "-c", "echo hi"}, Env: []string{"PATH=/bin"}, Cwd: "/", Hostname: "box",
		User:   &nucleusv1.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{10}},
		Rootfs: "/run/ctrd/ns/web/rootfs",
		Labels: map[string]string{LabelNamespace: "default", LabelID: "web", LabelRuntime: runtimeName},
		Volumes: []*nucleusv1.Volume{
			{Type: nucleusv1.VolumeType_VOLUME_TYPE_BIND, Source: "/srv/data", Destination: "/data", ReadOnly: true},
			{Type: nucleusv1.VolumeType_VOLUME_TYPE_TMPFS, Destination: "/scratch"},
		},
		Resources: &nucleusv1.Resources{MemoryBytes: 64 << 20, Cpus: 0.5, Pids: 100},
	}
	got, err := MapSpec(Task{Namespace: "default", ID: "web", Bundle: "/run/ctrd/ns/web", Spec: baseSpec()})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("MapSpec:\n got %v\nwant %v", got, want)
	}
}

func TestMapSpecVariants(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*specs.Spec)
		stdin bool
		check func(*nucleusv1.ContainerSpec) bool
	}{
		{"terminal", func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Process.ConsoleSize = &specs.Box{Height: 40, Width: 120}
		}, true, func(c *nucleusv1.ContainerSpec) bool {
			return c.GetTty() && !c.GetOpenStdin() && c.GetTerminalSize().GetRows() == 40 && c.GetTerminalSize().GetCols() == 120
		}},
		{"stdin", nil, true, func(c *nucleusv1.ContainerSpec) bool { return c.GetOpenStdin() && !c.GetTty() }},
		{"absolute root", func(s *specs.Spec) { s.Root.Path = "/elsewhere/root" }, false,
			func(c *nucleusv1.ContainerSpec) bool { return c.GetRootfs() == "/elsewhere/root" }},
		{"no root section", func(s *specs.Spec) { s.Root = nil }, false,
			func(c *nucleusv1.ContainerSpec) bool { return c.GetRootfs() == "/b/rootfs" }},
		{"shares only", func(s *specs.Spec) {
			shares := uint64(2048)
			s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &shares}
		}, false, func(c *nucleusv1.ContainerSpec) bool { return c.GetResources().GetCpus() == 0 }},
		{"quota without period", func(s *specs.Spec) { s.Linux.Resources.CPU.Period = nil }, false,
			func(c *nucleusv1.ContainerSpec) bool { return c.GetResources().GetCpus() == 0.5 }},
		{"no resources", func(s *specs.Spec) { s.Linux.Resources = nil }, false,
			func(c *nucleusv1.ContainerSpec) bool { return c.GetResources() == nil }},
		{"pod netns is not refused by the mapping", func(s *specs.Spec) {
			s.Linux.Namespaces[4].Path = "/var/run/netns/pod"
		}, false, func(c *nucleusv1.ContainerSpec) bool { return c.GetNetwork() == "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSpec()
			if tc.edit != nil {
				tc.edit(s)
			}
			got, err := MapSpec(Task{Namespace: "default", ID: "web", Bundle: "/b", Spec: s, Stdin: tc.stdin})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Fatalf("unexpected mapping: %v", got)
			}
		})
	}
}

func TestMapSpecRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*specs.Spec)
		kind error
		msg  string
	}{
		{"no process", func(s *specs.Spec) { s.Process = nil }, errdefs.ErrInvalidArgument, "no process"},
		{"empty args", func(s *specs.Spec) { s.Process.Args = nil }, errdefs.ErrInvalidArgument, "process.args is empty"},
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, errdefs.ErrInvalidArgument, "no linux section"},
		{"privileged", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN", "CAP_NET_ADMIN")
		}, errdefs.ErrPermissionDenied, "(CAP_NET_ADMIN, CAP_SYS_ADMIN)"},
		{"ambient cap", func(s *specs.Spec) { s.Process.Capabilities.Ambient = []string{"CAP_SYS_PTRACE"} },
			errdefs.ErrPermissionDenied, "CAP_SYS_PTRACE"},
		{"host network", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:4] },
			errdefs.ErrPermissionDenied, "host's network namespace"},
		{"host pid", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[1:] },
			errdefs.ErrPermissionDenied, "host's pid namespace"},
		{"join ipc", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/proc/1/ns/ipc" },
			errdefs.ErrPermissionDenied, "existing ipc namespace"},
		{"devices", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/kvm", Type: "c"}} },
			errdefs.ErrPermissionDenied, "devices are refused (/dev/kvm"},
		{"other mount type", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "nfs", Source: "srv:/x"})
		}, errdefs.ErrPermissionDenied, `type "nfs" at /x`},
		{"relative bundle", func(s *specs.Spec) {}, errdefs.ErrInvalidArgument, "not absolute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSpec()
			tc.edit(s)
			bundle := "/b"
			if tc.name == "relative bundle" {
				bundle = "b"
			}
			_, err := MapSpec(Task{Namespace: "default", ID: "web", Bundle: bundle, Spec: s})
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want %v containing %q", err, tc.kind, tc.msg)
			}
		})
	}
}

func TestContainerName(t *testing.T) {
	if got := ContainerName("default", "web"); got != "default.web" {
		t.Fatalf("plain: %q", got)
	}
	// "a.b"/"c" and "a"/"b.c" must not collide; both stay valid names.
	x, y := ContainerName("a.b", "c"), ContainerName("a", "b.c")
	if x == y || !namePattern.MatchString(x) || !namePattern.MatchString(y) || strings.Contains(x, ".") {
		t.Fatalf("ambiguous or invalid: %q %q", x, y)
	}
	long := ContainerName("k8s", strings.Repeat("x", 76))
	if !namePattern.MatchString(long) || !strings.HasPrefix(long, "ctrd-") || long == ContainerName("k8s", strings.Repeat("x", 75)) {
		t.Fatalf("long id: %q", long)
	}
}

func TestParseMountOptions(t *testing.T) {
	flags, data := parseMountOptions([]string{"ro", "nosuid", "lowerdir=/a:/b", "upperdir=/u", "rw"})
	if flags&mountFlags["nosuid"].flag == 0 || flags&mountFlags["ro"].flag != 0 || data != "lowerdir=/a:/b,upperdir=/u" {
		t.Fatalf("flags %#x data %q", flags, data)
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv(AddressEnv, "unix:///x/nucleusd.sock")
	f, err := parseFlags([]string{"-namespace", "k8s.io", "-id", "web", "-address", "/run/c.sock", "-publish-binary", "/bin/c", "-bundle", "/b", "-debug", "delete", "extra"}, io.Discard)
	if err != nil || f.action != "delete" || f.nucleusd != "unix:///x/nucleusd.sock" || f.bundle != "/b" || !f.debug {
		t.Fatalf("%+v, %v", f, err)
	}
	if _, err := parseFlags([]string{"-id", "web", "start"}, io.Discard); err == nil {
		t.Fatal("no -namespace accepted")
	}
	if _, err := parseFlags([]string{"-namespace", "n", "-id", "web", "-bogus"}, io.Discard); err == nil {
		t.Fatal("an unknown flag accepted")
	}
}
