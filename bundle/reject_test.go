package bundle

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// hostTree is an allowed host directory with hostile entries, and a denied
// directory beside it.
type hostTree struct {
	allowed, denied, outside string
}

func newHostTree(t *testing.T) hostTree {
	t.Helper()
	base := t.TempDir()
	h := hostTree{allowed: filepath.Join(base, "allowed"), denied: filepath.Join(base, "allowed", "state"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{h.allowed + "/data/sub", h.denied, h.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(h.allowed, "file"), []byte("f"), 0o644))
	must(os.Symlink("/etc", filepath.Join(h.allowed, "to-etc")))
	must(os.Symlink("../outside", filepath.Join(h.allowed, "to-outside")))
	must(os.Symlink("data/sub", filepath.Join(h.allowed, "to-sub")))
	must(os.Symlink("loop", filepath.Join(h.allowed, "loop")))
	must(os.Symlink("/proc/self/root", filepath.Join(h.allowed, "to-proc")))
	must(os.Symlink("state", filepath.Join(h.allowed, "to-state")))
	must(unix.Mkfifo(filepath.Join(h.allowed, "fifo"), 0o644))
	return h
}

func (h hostTree) policy() *Policy {
	return &Policy{AllowedHostPaths: []string{h.allowed}, DeniedHostPaths: []string{h.denied}, AllowHostPaths: true}
}

func bind(src, dst string) Volume { return Volume{Type: VolumeBind, Source: src, Destination: dst} }

func TestRejections(t *testing.T) {
	fakeHost(t)
	h := newHostTree(t)
	long := strings.Repeat("x", 300)
	errno := func(n uint) *uint { return &n }
	type mut = func(*Request, *Policy, *Paths)
	cases := []struct {
		name  string
		id    string
		mut   mut
		kind  error
		parts []string
	}{
		{name: "empty id", id: "-", kind: errdefs.ErrInvalidArgument, parts: []string{"container id"}},
		{name: "id with slash", id: "a/b", kind: errdefs.ErrInvalidArgument, parts: []string{"container id"}},
		{name: "id dotdot", id: "..", kind: errdefs.ErrInvalidArgument},
		{name: "pod with a slash", mut: func(r *Request, _ *Policy, _ *Paths) { r.Pod = "../x" }, kind: errdefs.ErrInvalidArgument, parts: []string{"pod", "sandbox id"}},
		{name: "pod with a NUL", mut: func(r *Request, _ *Policy, _ *Paths) { r.Pod = "a\x00b" }, kind: errdefs.ErrInvalidArgument, parts: []string{"pod"}},
		{name: "no args", mut: func(r *Request, _ *Policy, _ *Paths) { r.Args = nil }, kind: errdefs.ErrInvalidArgument, parts: []string{"args"}},
		{name: "empty arg0", mut: func(r *Request, _ *Policy, _ *Paths) { r.Args = []string{""} }, kind: errdefs.ErrInvalidArgument, parts: []string{"args[0]"}},
		{name: "too many args", mut: func(r *Request, p *Policy, _ *Paths) { p.MaxArgs = 2 }, kind: errdefs.ErrInvalidArgument, parts: []string{"3 entries", "at most 2"}},
		{name: "args too big", mut: func(r *Request, _ *Policy, _ *Paths) { r.Args = append(r.Args, strings.Repeat("a", 300<<10)) }, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 262144"}},
		{name: "arg NUL", mut: func(r *Request, _ *Policy, _ *Paths) { r.Args[2] = "a\x00b" }, kind: errdefs.ErrInvalidArgument, parts: []string{"args[2]", "NUL"}},
		{name: "arg bad utf8", mut: func(r *Request, _ *Policy, _ *Paths) { r.Args[2] = "\xff" }, kind: errdefs.ErrInvalidArgument, parts: []string{"UTF-8"}},
		{name: "env digit key", mut: func(r *Request, _ *Policy, _ *Paths) { r.Env = []string{"1A=b"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"env[0]", "KEY=VALUE"}},
		{name: "env no equals", mut: func(r *Request, _ *Policy, _ *Paths) { r.Env = []string{"A"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"KEY=VALUE"}},
		{name: "env space key", mut: func(r *Request, _ *Policy, _ *Paths) { r.Env = []string{"A B=c"} }, kind: errdefs.ErrInvalidArgument},
		{name: "env duplicate", mut: func(r *Request, _ *Policy, _ *Paths) { r.Env = []string{"A=1", "A=2"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"more than once"}},
		{name: "env NUL", mut: func(r *Request, _ *Policy, _ *Paths) { r.Env = []string{"A=\x00"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"NUL"}},
		{name: "env too many", mut: func(r *Request, p *Policy, _ *Paths) { r.Env = []string{"A=1", "B=2"}; p.MaxEnv = 1 }, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 1"}},
		{name: "env too big", mut: func(r *Request, _ *Policy, _ *Paths) { r.Env = []string{"A=" + strings.Repeat("v", 1<<20)} }, kind: errdefs.ErrInvalidArgument, parts: []string{"1048576 bytes"}},
		{name: "cwd relative", mut: func(r *Request, _ *Policy, _ *Paths) { r.Cwd = "tmp" }, kind: errdefs.ErrInvalidArgument, parts: []string{"absolute"}},
		{name: "cwd unclean", mut: func(r *Request, _ *Policy, _ *Paths) { r.Cwd = "/tmp/" }, kind: errdefs.ErrInvalidArgument, parts: []string{"clean"}},
		{name: "cwd dotdot", mut: func(r *Request, _ *Policy, _ *Paths) { r.Cwd = "/a/../b" }, kind: errdefs.ErrInvalidArgument},
		{name: "cwd proc", mut: func(r *Request, _ *Policy, _ *Paths) { r.Cwd = "/proc" }, kind: errdefs.ErrInvalidArgument, parts: []string{"/proc", "CVE-2024-21626"}},
		{name: "cwd proc fd", mut: func(r *Request, _ *Policy, _ *Paths) { r.Cwd = "/proc/self/fd/7" }, kind: errdefs.ErrInvalidArgument, parts: []string{"/proc"}},
		{name: "cwd NUL", mut: func(r *Request, _ *Policy, _ *Paths) { r.Cwd = "/a\x00" }, kind: errdefs.ErrInvalidArgument, parts: []string{"control character"}},
		{name: "hostname long", mut: func(r *Request, _ *Policy, _ *Paths) { r.Hostname = strings.Repeat("a", 64) }, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 63"}},
		{name: "hostname underscore", mut: func(r *Request, _ *Policy, _ *Paths) { r.Hostname = "a_b" }, kind: errdefs.ErrInvalidArgument, parts: []string{"hostname"}},
		{name: "hostname dash", mut: func(r *Request, _ *Policy, _ *Paths) { r.Hostname = "-a" }, kind: errdefs.ErrInvalidArgument},
		{name: "uid -1", mut: func(r *Request, _ *Policy, _ *Paths) { r.User.UID = math.MaxUint32 }, kind: errdefs.ErrInvalidArgument, parts: []string{"uid"}},
		{name: "gid -1", mut: func(r *Request, _ *Policy, _ *Paths) { r.User.AdditionalGIDs = []uint32{math.MaxUint32} }, kind: errdefs.ErrInvalidArgument},
		{name: "too many gids", mut: func(r *Request, _ *Policy, _ *Paths) { r.User.AdditionalGIDs = make([]uint32, 33) }, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 32"}},
		{name: "annotation not reverse domain", mut: func(r *Request, _ *Policy, _ *Paths) { r.Annotations = map[string]string{"foo": "x"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"reverse-domain"}},
		{name: "annotation gvisor", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Annotations = map[string]string{"dev.gvisor.spec.mount.x.source": "/"}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"reserved", "dev.gvisor"}},
		{name: "annotation flag override", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Annotations = map[string]string{"dev.gvisor.flag.network": "host"}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"reserved"}},
		{name: "annotation oci", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Annotations = map[string]string{"org.opencontainers.image.x": "y"}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"reserved"}},
		{name: "annotation cri", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Annotations = map[string]string{"io.kubernetes.cri.container-type": "container"}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"reserved"}},
		{name: "annotation label spoof", mut: func(r *Request, _ *Policy, _ *Paths) { r.Annotations = map[string]string{"dev.nucleus.label.x": "y"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"reserved"}},
		{name: "annotation NUL", mut: func(r *Request, _ *Policy, _ *Paths) { r.Annotations = map[string]string{"com.example.a": "\x00"} }, kind: errdefs.ErrInvalidArgument},
		{name: "annotation key long", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Annotations = map[string]string{"com." + strings.Repeat("a.", 130) + "b": "x"}
		}, kind: errdefs.ErrInvalidArgument},
		{name: "annotations too many", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Annotations = map[string]string{"com.a": "1"}
			r.Labels = map[string]string{"b": "2"}
			p.MaxAnnotations = 1
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 1"}},
		{name: "annotations too big", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Annotations = map[string]string{"com.a": strings.Repeat("v", 64<<10)}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 65536"}},
		{name: "label slash", mut: func(r *Request, _ *Policy, _ *Paths) { r.Labels = map[string]string{"app/name": "x"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"label key"}},
		{name: "sysctl not allowed", mut: func(r *Request, _ *Policy, _ *Paths) { r.Sysctls = map[string]string{"kernel.shmmax": "1"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"not allowed", "fs.nr_open"}},
		{name: "sysctl host", mut: func(r *Request, _ *Policy, _ *Paths) { r.Sysctls = map[string]string{"kernel.core_pattern": "|/x"} }, kind: errdefs.ErrInvalidArgument},
		{name: "sysctl bad bool", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Sysctls = map[string]string{"net.ipv6.conf.all.disable_ipv6": "2"}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"0 or 1"}},
		{name: "sysctl bad int", mut: func(r *Request, _ *Policy, _ *Paths) { r.Sysctls = map[string]string{"fs.nr_open": "10"} }, kind: errdefs.ErrInvalidArgument, parts: []string{"1024"}},
		{name: "userns no maps", mut: func(r *Request, _ *Policy, _ *Paths) { r.UserNamespace = &UserNamespace{} }, kind: errdefs.ErrInvalidArgument, parts: []string{"at least one uid mapping"}},
		{name: "userns size 0", mut: func(r *Request, _ *Policy, _ *Paths) { r.UserNamespace = userns(IDMapping{0, 1000, 0}) }, kind: errdefs.ErrInvalidArgument, parts: []string{"size 0"}},
		{name: "userns overflow", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.UserNamespace = userns(IDMapping{0, math.MaxUint32 - 5, 10})
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"overflows"}},
		{name: "userns overlap", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.UserNamespace = userns(IDMapping{0, 1000, 10}, IDMapping{5, 5000, 10})
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"overlap"}},
		{name: "userns host overlap", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.UserNamespace = userns(IDMapping{0, 1000, 10}, IDMapping{100, 1005, 10})
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"overlap"}},
		{name: "userns too many", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.UserNamespace = userns(IDMapping{0, 0, 1}, IDMapping{1, 1, 1}, IDMapping{2, 2, 1}, IDMapping{3, 3, 1}, IDMapping{4, 4, 1}, IDMapping{5, 5, 1})
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 5"}},
		{name: "userns uid unmapped", mut: func(r *Request, _ *Policy, _ *Paths) { r.UserNamespace = userns(IDMapping{1, 1000, 10}) }, kind: errdefs.ErrInvalidArgument, parts: []string{"uid 0 is not mapped"}},
		{name: "userns gid unmapped", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.UserNamespace = userns(IDMapping{0, 1000, 10})
			r.User.AdditionalGIDs = []uint32{20}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"gid 20 is not mapped"}},
		{name: "seccomp disabled", mut: func(r *Request, p *Policy, _ *Paths) { r.Seccomp = allowAll(); p.OCISeccomp = false }, kind: errdefs.ErrInvalidArgument, parts: []string{"--oci-seccomp"}},
		{name: "seccomp log action", mut: seccompMut(func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActLog }), kind: errdefs.ErrInvalidArgument, parts: []string{"SCMP_ACT_LOG", "supported"}},
		{name: "seccomp kill process", mut: seccompMut(func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActKillProcess }), kind: errdefs.ErrInvalidArgument},
		{name: "seccomp notify", mut: seccompMut(func(s *specs.LinuxSeccomp) { s.ListenerPath = "/run/x.sock" }), kind: errdefs.ErrInvalidArgument, parts: []string{"listenerPath"}},
		{name: "seccomp errno ret", mut: seccompMut(func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = errno(38) }), kind: errdefs.ErrInvalidArgument, parts: []string{"EPERM"}},
		{name: "seccomp flag", mut: seccompMut(func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG"} }), kind: errdefs.ErrInvalidArgument, parts: []string{"flag"}},
		{name: "seccomp arch", mut: seccompMut(func(s *specs.LinuxSeccomp) { s.Architectures = []specs.Arch{specs.ArchPPC64} }), kind: errdefs.ErrInvalidArgument, parts: []string{"architecture"}},
		{name: "seccomp no names", mut: seccompMut(func(s *specs.LinuxSeccomp) { s.Syscalls = []specs.LinuxSyscall{{Action: specs.ActErrno}} }), kind: errdefs.ErrInvalidArgument, parts: []string{"no names"}},
		{name: "seccomp bad name", mut: seccompMut(func(s *specs.LinuxSeccomp) {
			s.Syscalls = []specs.LinuxSyscall{{Names: []string{"Open"}, Action: specs.ActErrno}}
		}), kind: errdefs.ErrInvalidArgument, parts: []string{"name"}},
		{name: "seccomp rule errno", mut: seccompMut(func(s *specs.LinuxSeccomp) {
			s.Syscalls = []specs.LinuxSyscall{{Names: []string{"open"}, Action: specs.ActErrno, ErrnoRet: errno(2)}}
		}), kind: errdefs.ErrInvalidArgument, parts: []string{"errnoRet"}},
		{name: "seccomp bad op", mut: seccompMut(func(s *specs.LinuxSeccomp) {
			s.Syscalls = []specs.LinuxSyscall{{Names: []string{"open"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_X"}}}}
		}), kind: errdefs.ErrInvalidArgument, parts: []string{"operator"}},
		{name: "seccomp bad index", mut: seccompMut(func(s *specs.LinuxSeccomp) {
			s.Syscalls = []specs.LinuxSyscall{{Names: []string{"open"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}
		}), kind: errdefs.ErrInvalidArgument, parts: []string{"index 6"}},
		{name: "seccomp too many rules", mut: seccompMut(func(s *specs.LinuxSeccomp) {
			s.Syscalls = make([]specs.LinuxSyscall, 1025)
		}), kind: errdefs.ErrInvalidArgument, parts: []string{"at most 1024"}},
		{name: "memory negative", mut: res(Resources{MemoryBytes: -1}), kind: errdefs.ErrInvalidArgument, parts: []string{"negative"}},
		{name: "memory tiny", mut: res(Resources{MemoryBytes: 1 << 20}), kind: errdefs.ErrInvalidArgument, parts: []string{"below"}},
		{name: "memory over policy", mut: func(r *Request, p *Policy, _ *Paths) { r.Resources.MemoryBytes = 2 << 30; p.MaxMemoryBytes = 1 << 30 }, kind: errdefs.ErrInvalidArgument, parts: []string{"1073741824"}},
		{name: "cpus NaN", mut: res(Resources{CPUs: math.NaN()}), kind: errdefs.ErrInvalidArgument, parts: []string{"cpus"}},
		{name: "cpus Inf", mut: res(Resources{CPUs: math.Inf(1)}), kind: errdefs.ErrInvalidArgument},
		{name: "cpus negative", mut: res(Resources{CPUs: -1}), kind: errdefs.ErrInvalidArgument},
		{name: "cpus tiny", mut: res(Resources{CPUs: 0.001}), kind: errdefs.ErrInvalidArgument, parts: []string{"0.01"}},
		{name: "cpus over policy", mut: func(r *Request, p *Policy, _ *Paths) { r.Resources.CPUs = 3; p.MaxCPUs = 2 }, kind: errdefs.ErrInvalidArgument},
		{name: "pids negative", mut: res(Resources{Pids: -1}), kind: errdefs.ErrInvalidArgument, parts: []string{"pids"}},
		{name: "pids huge", mut: res(Resources{Pids: 1 << 40}), kind: errdefs.ErrInvalidArgument},
		{name: "memlock negative", mut: res(Resources{MemlockBytes: -1}), kind: errdefs.ErrInvalidArgument, parts: []string{"memlock"}},
		{name: "memlock huge", mut: res(Resources{MemlockBytes: 1 << 40}), kind: errdefs.ErrInvalidArgument},
		{name: "policy host pids too low", mut: func(_ *Request, p *Policy, _ *Paths) { p.HostPidsLimit = 128 }, kind: errdefs.ErrFailedPrecondition, parts: []string{"512"}},
		{name: "policy cgroup parent abs", mut: func(_ *Request, p *Policy, _ *Paths) { p.CgroupParent = "/x" }, kind: errdefs.ErrFailedPrecondition},
		{name: "policy cgroup parent dotdot", mut: func(_ *Request, p *Policy, _ *Paths) { p.CgroupParent = "a/../.." }, kind: errdefs.ErrFailedPrecondition},
		{name: "volumes too many", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Volumes = []Volume{tmpfsVol("/a"), tmpfsVol("/b")}
			p.MaxVolumes = 1
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 1"}},
		{name: "volume type", mut: vol(Volume{Type: "nfs", Destination: "/a"}), kind: errdefs.ErrInvalidArgument, parts: []string{"nfs", "bind", "tmpfs"}},
		{name: "dest relative", mut: vol(tmpfsVol("data")), kind: errdefs.ErrInvalidArgument, parts: []string{"absolute"}},
		{name: "dest root", mut: vol(tmpfsVol("/")), kind: errdefs.ErrInvalidArgument, parts: []string{"root"}},
		{name: "dest root unclean", mut: vol(tmpfsVol("//.//")), kind: errdefs.ErrInvalidArgument, parts: []string{"root"}},
		{name: "dest proc", mut: vol(tmpfsVol("/proc")), kind: errdefs.ErrInvalidArgument, parts: []string{"/proc"}},
		{name: "dest proc sub", mut: vol(tmpfsVol("/proc/sys/kernel")), kind: errdefs.ErrInvalidArgument, parts: []string{"/proc"}},
		{name: "dest proc unclean", mut: vol(tmpfsVol("//proc/./x")), kind: errdefs.ErrInvalidArgument, parts: []string{"/proc"}},
		{name: "dest sys", mut: vol(tmpfsVol("/sys/fs/cgroup")), kind: errdefs.ErrInvalidArgument, parts: []string{"/sys"}},
		{name: "dest dev", mut: vol(tmpfsVol("/dev/shm/x")), kind: errdefs.ErrInvalidArgument, parts: []string{"/dev"}},
		{name: "dest dotdot", mut: vol(tmpfsVol("/data/../../etc")), kind: errdefs.ErrInvalidArgument, parts: []string{".."}},
		{name: "dest NUL", mut: vol(tmpfsVol("/data\x00/x")), kind: errdefs.ErrInvalidArgument},
		{name: "dest newline", mut: vol(tmpfsVol("/data\n")), kind: errdefs.ErrInvalidArgument},
		{name: "dest long name", mut: vol(tmpfsVol("/" + long)), kind: errdefs.ErrInvalidArgument, parts: []string{"255"}},
		{name: "dest long path", mut: vol(tmpfsVol("/" + strings.Repeat("a/", 2100))), kind: errdefs.ErrInvalidArgument, parts: []string{"4096"}},
		{name: "dest tmp", mut: vol(tmpfsVol("/tmp")), kind: errdefs.ErrInvalidArgument, parts: []string{"already a tmpfs"}},
		{name: "dest shadows usr", mut: vol(tmpfsVol("/usr/local")), kind: errdefs.ErrInvalidArgument, parts: []string{"shadow"}},
		{name: "dest shadows bin", mut: vol(tmpfsVol("/bin")), kind: errdefs.ErrInvalidArgument, parts: []string{"shadow"}},
		{name: "dest nested", mut: func(r *Request, _ *Policy, _ *Paths) { r.Volumes = []Volume{tmpfsVol("/a"), tmpfsVol("/a/b")} }, kind: errdefs.ErrInvalidArgument, parts: []string{"overlap"}},
		{name: "dest duplicate", mut: func(r *Request, _ *Policy, _ *Paths) { r.Volumes = []Volume{tmpfsVol("/a"), tmpfsVol("/a/")} }, kind: errdefs.ErrInvalidArgument, parts: []string{"overlap"}},
		{name: "dest covers secret", mut: func(r *Request, _ *Policy, _ *Paths) {
			r.Volumes = []Volume{tmpfsVol("/run")}
			r.Secrets = []Secret{{Name: "k"}}
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"overlap"}},
		{name: "bind with size", mut: vol(Volume{Type: VolumeBind, Source: h.allowed, Destination: "/a", SizeBytes: 1}), kind: errdefs.ErrInvalidArgument, parts: []string{"size"}},
		{name: "tmpfs with source", mut: vol(Volume{Type: VolumeTmpfs, Source: "/x", Destination: "/a", SizeBytes: 1}), kind: errdefs.ErrInvalidArgument, parts: []string{"no source"}},
		{name: "tmpfs no size", mut: vol(Volume{Type: VolumeTmpfs, Destination: "/a"}), kind: errdefs.ErrInvalidArgument, parts: []string{"size"}},
		{name: "tmpfs too big", mut: vol(Volume{Type: VolumeTmpfs, Destination: "/a", SizeBytes: 2 << 30}), kind: errdefs.ErrInvalidArgument, parts: []string{"1073741824"}},
		{name: "bind not allowed for caller", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Volumes = []Volume{bind(h.allowed+"/data", "/data")}
			p.AllowHostPaths = false
		}, kind: errdefs.ErrPermissionDenied, parts: []string{"not allowed for this caller"}},
		{name: "source relative", mut: vol(bind("data", "/data")), kind: errdefs.ErrInvalidArgument, parts: []string{"absolute"}},
		{name: "source dotdot", mut: vol(bind(h.allowed+"/data/../data", "/data")), kind: errdefs.ErrInvalidArgument, parts: []string{".."}},
		{name: "source missing", mut: vol(bind(h.allowed+"/nope", "/data")), kind: errdefs.ErrInvalidArgument, parts: []string{"does not exist"}},
		{name: "source outside allowlist", mut: vol(bind(h.outside, "/data")), kind: errdefs.ErrPermissionDenied, parts: []string{"not under an allowed host path", h.allowed}},
		{name: "source symlink to etc", mut: vol(bind(h.allowed+"/to-etc", "/data")), kind: errdefs.ErrPermissionDenied, parts: []string{"/etc", "sensitive"}},
		{name: "source symlink escape", mut: vol(bind(h.allowed+"/to-outside", "/data")), kind: errdefs.ErrPermissionDenied, parts: []string{"not under an allowed host path"}},
		{name: "source symlink to proc", mut: vol(bind(h.allowed+"/to-proc", "/data")), kind: errdefs.ErrPermissionDenied},
		{name: "source symlink loop", mut: vol(bind(h.allowed+"/loop", "/data")), kind: errdefs.ErrInvalidArgument, parts: []string{"cannot be resolved"}},
		{name: "source denied dir", mut: vol(bind(h.denied, "/data")), kind: errdefs.ErrPermissionDenied, parts: []string{"sensitive"}},
		{name: "source symlink to denied", mut: vol(bind(h.allowed+"/to-state", "/data")), kind: errdefs.ErrPermissionDenied, parts: []string{"sensitive"}},
		{name: "source contains denied", mut: vol(bind(h.allowed, "/data")), kind: errdefs.ErrPermissionDenied, parts: []string{"contains"}},
		{name: "source fifo", mut: vol(bind(h.allowed+"/fifo", "/data")), kind: errdefs.ErrInvalidArgument, parts: []string{"only directories and regular files"}},
		{name: "source etc", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Volumes = []Volume{bind("/etc", "/data")}
			p.AllowedHostPaths = []string{"/"}
		}, kind: errdefs.ErrPermissionDenied, parts: []string{"/etc"}},
		{name: "source host root", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Volumes = []Volume{bind("/", "/data")}
			p.AllowedHostPaths = []string{"/"}
		}, kind: errdefs.ErrPermissionDenied, parts: []string{"contains"}},
		{name: "source var run", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Volumes = []Volume{bind("/var/run", "/data")}
			p.AllowedHostPaths = []string{"/"}
		}, kind: errdefs.ErrPermissionDenied},
		{name: "source proc self", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Volumes = []Volume{bind("/proc/self/root", "/data")}
			p.AllowedHostPaths = []string{"/"}
		}, kind: errdefs.ErrPermissionDenied},
		{name: "source NUL", mut: vol(bind(h.allowed+"/\x00", "/data")), kind: errdefs.ErrInvalidArgument},
		{name: "rootfs not allowed for caller", mut: func(r *Request, p *Policy, _ *Paths) { r.Rootfs = h.allowed + "/data"; p.AllowHostPaths = false }, kind: errdefs.ErrPermissionDenied},
		{name: "rootfs file", mut: func(r *Request, _ *Policy, _ *Paths) { r.Rootfs = h.allowed + "/file" }, kind: errdefs.ErrInvalidArgument, parts: []string{"not a directory"}},
		{name: "rootfs outside", mut: func(r *Request, _ *Policy, _ *Paths) { r.Rootfs = h.outside }, kind: errdefs.ErrPermissionDenied},
		{name: "rootfs symlink etc", mut: func(r *Request, _ *Policy, _ *Paths) { r.Rootfs = h.allowed + "/to-etc" }, kind: errdefs.ErrPermissionDenied},
		{name: "secret name traversal", mut: secret(Secret{Name: "../x"}), kind: errdefs.ErrInvalidArgument, parts: []string{"name"}},
		{name: "secret name slash", mut: secret(Secret{Name: "a/b"}), kind: errdefs.ErrInvalidArgument},
		{name: "secret name dot", mut: secret(Secret{Name: ".hidden"}), kind: errdefs.ErrInvalidArgument},
		{name: "secret name empty", mut: secret(Secret{}), kind: errdefs.ErrInvalidArgument},
		{name: "secret duplicate", mut: secret(Secret{Name: "a"}, Secret{Name: "a", Destination: "/b"}), kind: errdefs.ErrInvalidArgument, parts: []string{"unique"}},
		{name: "secret too big", mut: secret(Secret{Name: "a", Data: make([]byte, 1<<20+1)}), kind: errdefs.ErrInvalidArgument, parts: []string{"1048576"}},
		{name: "secrets too many", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Secrets = []Secret{{Name: "a"}, {Name: "b"}}
			p.MaxSecrets = 1
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"at most 1"}},
		{name: "secrets over tmpfs", mut: func(r *Request, p *Policy, _ *Paths) {
			r.Secrets = []Secret{{Name: "a", Data: make([]byte, 5000)}}
			p.SecretsSizeBytes = 8191
		}, kind: errdefs.ErrInvalidArgument, parts: []string{"8192"}},
		{name: "secret mode setuid", mut: secret(Secret{Name: "a", Mode: 0o4400}), kind: errdefs.ErrInvalidArgument, parts: []string{"mode"}},
		{name: "secret mode type", mut: secret(Secret{Name: "a", Mode: os.ModeSymlink | 0o400}), kind: errdefs.ErrInvalidArgument, parts: []string{"mode"}},
		{name: "secret dest proc", mut: secret(Secret{Name: "a", Destination: "/proc/a"}), kind: errdefs.ErrInvalidArgument, parts: []string{"/proc"}},
		{name: "secret dest tmp", mut: secret(Secret{Name: "a", Destination: "/tmp"}), kind: errdefs.ErrInvalidArgument},
		{name: "secret dest usr", mut: secret(Secret{Name: "a", Destination: "/usr/bin/sudo"}), kind: errdefs.ErrInvalidArgument, parts: []string{"shadow"}},
		{name: "secrets dir missing", mut: func(r *Request, _ *Policy, p *Paths) {
			r.Secrets = []Secret{{Name: "a"}}
			p.SecretsDir = ""
		}, kind: errdefs.ErrFailedPrecondition, parts: []string{"secrets directory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := sh()
			pol := h.policy()
			pol.OCISeccomp = true
			paths := testPaths(t)
			if c.mut != nil {
				c.mut(req, pol, &paths)
			}
			id := testID
			if c.id != "" {
				id = strings.TrimPrefix(c.id, "-")
			}
			_, err := Build(id, req, pol, paths)
			wantErr(t, err, c.kind, c.parts...)
			t.Log(err)
			if strings.Contains(err.Error(), "\x00") {
				t.Errorf("error carries a raw NUL: %q", err)
			}
		})
	}
}

func userns(m ...IDMapping) *UserNamespace {
	return &UserNamespace{UIDMappings: m, GIDMappings: m}
}

func allowAll() *specs.LinuxSeccomp { return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow} }

func seccompMut(f func(*specs.LinuxSeccomp)) func(*Request, *Policy, *Paths) {
	return func(r *Request, _ *Policy, _ *Paths) {
		r.Seccomp = allowAll()
		f(r.Seccomp)
	}
}

func res(rs Resources) func(*Request, *Policy, *Paths) {
	return func(r *Request, _ *Policy, _ *Paths) { r.Resources = rs }
}

func tmpfsVol(dst string) Volume {
	return Volume{Type: VolumeTmpfs, Destination: dst, SizeBytes: 1 << 20}
}

func vol(v ...Volume) func(*Request, *Policy, *Paths) {
	return func(r *Request, _ *Policy, _ *Paths) { r.Volumes = v }
}

func secret(s ...Secret) func(*Request, *Policy, *Paths) {
	return func(r *Request, _ *Policy, _ *Paths) { r.Secrets = s }
}

func TestNilRequest(t *testing.T) {
	_, err := Build(testID, nil, nil, Paths{})
	wantErr(t, err, errdefs.ErrInvalidArgument, "request")
}
