package bundle

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/cri"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestDefaultSpecGolden pins the whole default spec; -update rewrites it.
func TestDefaultSpecGolden(t *testing.T) {
	root := fakeHost(t)
	spec := mustBuild(t, sh(), nil)
	got, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = bytes.ReplaceAll(append(got, '\n'), []byte(root), []byte("$HOST"))
	golden := filepath.Join("testdata", "default.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update ./bundle/)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("default spec differs from %s (rerun with -update if intended):\n%s", golden, got)
	}
}

// TestDefaults asserts every default inline, so a golden update cannot
// silently weaken one.
func TestDefaults(t *testing.T) {
	fakeHost(t)
	s := mustBuild(t, sh(), nil)
	if s.Version != specs.Version || s.Version != "1.2.1" {
		t.Errorf("version = %q", s.Version)
	}
	if s.Root == nil || s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("root = %+v, want read-only rootfs", s.Root)
	}
	p := s.Process
	c := p.Capabilities
	if c == nil || len(c.Bounding)+len(c.Effective)+len(c.Inheritable)+len(c.Permitted)+len(c.Ambient) != 0 {
		t.Errorf("capabilities = %+v, want all five sets empty", c)
	}
	if !p.NoNewPrivileges || p.Terminal || p.Cwd != "/" {
		t.Errorf("process = nnp %v terminal %v cwd %q", p.NoNewPrivileges, p.Terminal, p.Cwd)
	}
	if !slices.Equal(p.Env, []string{"PATH=" + DefaultPath}) {
		t.Errorf("env = %q, want only the fixed PATH", p.Env)
	}
	if p.User.UID != 0 || p.User.GID != 0 || p.User.AdditionalGids != nil {
		t.Errorf("user = %+v", p.User)
	}
	wantRlimits := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}, {Type: "RLIMIT_MEMLOCK", Hard: 64 << 10, Soft: 64 << 10}}
	if !slices.Equal(p.Rlimits, wantRlimits) {
		t.Errorf("rlimits = %+v, want %+v (no NPROC when pids is unlimited)", p.Rlimits, wantRlimits)
	}
	if s.Hostname != testID[:12] {
		t.Errorf("hostname = %q", s.Hostname)
	}
	if s.Hooks != nil {
		t.Errorf("hooks = %+v, want none: nucleusd runs hooks itself", s.Hooks)
	}
	if s.Annotations != nil {
		t.Errorf("annotations = %v", s.Annotations)
	}
	wantMounts := map[string][]string{
		"/proc":    {"nosuid", "noexec", "nodev"},
		"/dev":     {"nosuid", "noexec", "strictatime", "mode=755", "size=65536k"},
		"/dev/shm": {"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"},
		"/tmp":     {"nosuid", "nodev", "noexec", "mode=1777", "size=67108864"},
		"/sys":     {"nosuid", "noexec", "nodev", "ro"},
		"/usr":     {"rbind", "ro", "nosuid", "nodev"},
	}
	if len(s.Mounts) != len(wantMounts) {
		t.Errorf("%d mounts, want %d: %+v", len(s.Mounts), len(wantMounts), s.Mounts)
	}
	for dest, opts := range wantMounts {
		m := findMount(s, dest)
		if m == nil || !slices.Equal(m.Options, opts) {
			t.Errorf("mount %s = %+v, want options %q", dest, m, opts)
		}
	}
	l := s.Linux
	var ns []specs.LinuxNamespaceType
	for _, n := range l.Namespaces {
		if n.Path != "" {
			t.Errorf("namespace %s joins %s; want a new one", n.Type, n.Path)
		}
		ns = append(ns, n.Type)
	}
	if !slices.Equal(ns, []specs.LinuxNamespaceType{"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
		t.Errorf("namespaces = %v", ns)
	}
	if l.RootfsPropagation != "private" {
		t.Errorf("rootfsPropagation = %q", l.RootfsPropagation)
	}
	for _, m := range []string{"/proc/kcore", "/proc/keys", "/proc/kallsyms", "/proc/sysrq-trigger", "/sys/firmware", "/proc/timer_list", "/proc/sched_debug", "/proc/acpi", "/proc/scsi"} {
		if !slices.Contains(l.MaskedPaths, m) {
			t.Errorf("%s is not masked", m)
		}
	}
	if !slices.Equal(l.ReadonlyPaths, []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"}) {
		t.Errorf("readonlyPaths = %v", l.ReadonlyPaths)
	}
	var devs []string
	for _, d := range l.Devices {
		devs = append(devs, d.Path)
		if d.Type != "c" || d.Major != 1 || *d.FileMode != 0o666 || *d.UID != 0 || *d.GID != 0 {
			t.Errorf("device %+v", d)
		}
	}
	if !slices.Equal(devs, []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}) {
		t.Errorf("devices = %v", devs)
	}
	if r := l.Resources; r == nil || r.Memory != nil || r.CPU != nil || r.Pids == nil || r.Pids.Limit != DefaultHostPidsLimit {
		t.Errorf("resources = %+v, want only the host pids limit %d", r, DefaultHostPidsLimit)
	}
	if l.CgroupsPath != "/nucleus/"+testID {
		t.Errorf("cgroupsPath = %q", l.CgroupsPath)
	}
	if l.Seccomp != nil || l.Sysctl != nil || l.UIDMappings != nil || l.GIDMappings != nil {
		t.Errorf("unexpected linux fields: %+v", l)
	}
}

func TestHostLayout(t *testing.T) {
	t.Run("merged usr", func(t *testing.T) {
		root := fakeHost(t)
		mounts, links := hostLayout(root)
		if len(mounts) != 1 || mounts[0].Destination != "/usr" || mounts[0].Source != filepath.Join(root, "usr") {
			t.Errorf("mounts = %+v, want only /usr", mounts)
		}
		want := []rootfsLink{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}}
		if !slices.Equal(links, want) {
			t.Errorf("links = %+v, want %+v", links, want)
		}
	})
	t.Run("split usr, missing lib64, link outside", func(t *testing.T) {
		root := t.TempDir()
		for _, d := range []string{"usr", "bin", "sbin", "opt/lib"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("opt/lib", filepath.Join(root, "lib")); err != nil {
			t.Fatal(err)
		}
		mounts, links := hostLayout(root)
		var got []string
		for _, m := range mounts {
			got = append(got, m.Destination+"="+strings.TrimPrefix(m.Source, root))
			if !slices.Equal(m.Options, []string{"rbind", "ro", "nosuid", "nodev"}) {
				t.Errorf("%s options %v", m.Destination, m.Options)
			}
		}
		if want := []string{"/usr=/usr", "/bin=/bin", "/sbin=/sbin", "/lib=/opt/lib"}; !slices.Equal(got, want) {
			t.Errorf("mounts = %v, want %v", got, want)
		}
		if len(links) != 0 {
			t.Errorf("links = %v", links)
		}
	})
	t.Run("this host", func(t *testing.T) {
		mounts, links := hostLayout("/")
		if len(mounts)+len(links) == 0 {
			t.Fatal("no host directories bound")
		}
		for _, m := range mounts {
			if fi, err := os.Lstat(m.Source); err != nil || !fi.IsDir() {
				t.Errorf("bound %s is not a directory", m.Source)
			}
		}
	})
}

// TestPodAnnotations: a request with Pod carries runsc's grouping
// annotations (beside the caller's own), one without carries none.
func TestPodAnnotations(t *testing.T) {
	fakeHost(t)
	req := sh()
	req.Annotations = map[string]string{"com.example.k": "v"}
	req.Pod = "fedcba9876543210fedcba9876543210"
	spec := mustBuild(t, req, nil)
	want := map[string]string{"com.example.k": "v", cri.ContainerType: "container", cri.SandboxID: req.Pod}
	for k, v := range want {
		if spec.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q (all: %v)", k, spec.Annotations[k], v, spec.Annotations)
		}
	}
	plain := mustBuild(t, sh(), nil)
	if _, ok := plain.Annotations[cri.SandboxID]; ok {
		t.Errorf("a request without Pod carries %v", plain.Annotations)
	}
}
