package bundle

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestOptionProcess(t *testing.T) {
	fakeHost(t)
	req := sh()
	req.Env = []string{"A=1", "B=x=y"}
	req.User = User{UID: 1000, GID: 100, AdditionalGIDs: []uint32{10, 20}}
	req.Cwd = "/work"
	req.Hostname = "box.example"
	s := mustBuild(t, req, nil)
	if !slices.Equal(s.Process.Env, []string{"PATH=" + DefaultPath, "A=1", "B=x=y"}) {
		t.Errorf("env = %q", s.Process.Env)
	}
	if u := s.Process.User; u.UID != 1000 || u.GID != 100 || !slices.Equal(u.AdditionalGids, []uint32{10, 20}) {
		t.Errorf("user = %+v", u)
	}
	if s.Process.Cwd != "/work" || s.Hostname != "box.example" {
		t.Errorf("cwd %q hostname %q", s.Process.Cwd, s.Hostname)
	}
	req.Env = []string{"PATH=/opt/bin"}
	if s := mustBuild(t, req, nil); !slices.Equal(s.Process.Env, []string{"PATH=/opt/bin"}) {
		t.Errorf("a PATH from the request must replace the default: env = %q", s.Process.Env)
	}
	if !slices.Equal(s.Process.Args, req.Args) {
		t.Errorf("args = %q", s.Process.Args)
	}
}

func TestOptionHostnameDefault(t *testing.T) {
	fakeHost(t)
	for id, want := range map[string]string{testID: testID[:12], "web": "web", "a_b": "sandbox", "abcdefghijk-x": "sandbox", "node.1": "node.1"} {
		s, err := Build(id, sh(), nil, testPaths(t))
		if err != nil {
			t.Fatal(err)
		}
		if s.Hostname != want {
			t.Errorf("id %q: hostname = %q, want %q", id, s.Hostname, want)
		}
	}
}

func TestOptionAnnotationsAndLabels(t *testing.T) {
	fakeHost(t)
	req := sh()
	req.Annotations = map[string]string{"com.example.owner": "team-a", "io.example.note": "path=/etc/shadow"}
	req.Labels = map[string]string{"app": "web", "tier.level": "1"}
	s := mustBuild(t, req, nil)
	want := map[string]string{
		"com.example.owner": "team-a", "io.example.note": "path=/etc/shadow",
		"dev.nucleus.label.app": "web", "dev.nucleus.label.tier.level": "1",
	}
	if fmt.Sprint(s.Annotations) != fmt.Sprint(want) {
		t.Errorf("annotations = %v, want %v", s.Annotations, want)
	}
	// Data only: an annotation changes nothing but the annotations.
	base := mustBuild(t, sh(), nil)
	s.Annotations = nil
	if a, b := jsonOf(t, s), jsonOf(t, base); a != b {
		t.Errorf("annotations changed other fields:\n%s\n%s", a, b)
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOptionSysctls(t *testing.T) {
	fakeHost(t)
	req := sh()
	req.Sysctls = map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "fs.nr_open": "4096"}
	s := mustBuild(t, req, nil)
	if fmt.Sprint(s.Linux.Sysctl) != fmt.Sprint(req.Sysctls) {
		t.Errorf("sysctl = %v", s.Linux.Sysctl)
	}
}

func TestOptionUserNamespace(t *testing.T) {
	fakeHost(t)
	req := sh()
	req.User = User{UID: 1000, GID: 1000}
	req.UserNamespace = &UserNamespace{
		UIDMappings: []IDMapping{{0, 100000, 65536}},
		GIDMappings: []IDMapping{{0, 200000, 65536}},
	}
	s, p, err := build(testID, req, nil, testPaths(t))
	if err != nil {
		t.Fatal(err)
	}
	if last := s.Linux.Namespaces[len(s.Linux.Namespaces)-1]; last.Type != specs.UserNamespace {
		t.Errorf("namespaces = %v, want a user namespace", s.Linux.Namespaces)
	}
	if !slices.Equal(s.Linux.UIDMappings, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}) ||
		!slices.Equal(s.Linux.GIDMappings, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}) {
		t.Errorf("mappings = %v %v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	if p.secretUID != 101000 || p.secretGID != 201000 {
		t.Errorf("secret owner = %d:%d, want the host ids of 1000:1000", p.secretUID, p.secretGID)
	}
	if p.bundleMode != 0o711 {
		t.Errorf("bundle mode = %o, want 0711 so the mapped root can reach the rootfs", p.bundleMode)
	}
}

func TestOptionSeccomp(t *testing.T) {
	fakeHost(t)
	req := sh()
	eperm := uint(1)
	req.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno, DefaultErrnoRet: &eperm,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Flags:         []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}}},
	}
	s := mustBuild(t, req, &Policy{OCISeccomp: true})
	if jsonOf(t, s.Linux.Seccomp) != jsonOf(t, req.Seccomp) {
		t.Errorf("seccomp = %s", jsonOf(t, s.Linux.Seccomp))
	}
}

func TestOptionResources(t *testing.T) {
	fakeHost(t)
	req := sh()
	req.Resources = Resources{MemoryBytes: 512 << 20, CPUs: 0.5, Pids: 100, MemlockBytes: 1 << 20}
	s := mustBuild(t, req, &Policy{HostPidsLimit: 2048, MaxCPUs: 4})
	r := s.Linux.Resources
	if *r.Memory.Limit != 512<<20 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || r.Pids.Limit != 2048 {
		t.Errorf("resources = mem %d quota %d period %d pids %d", *r.Memory.Limit, *r.CPU.Quota, *r.CPU.Period, r.Pids.Limit)
	}
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}, {Type: "RLIMIT_NPROC", Hard: 100, Soft: 100}, {Type: "RLIMIT_MEMLOCK", Hard: 1 << 20, Soft: 1 << 20}}
	if !slices.Equal(s.Process.Rlimits, want) {
		t.Errorf("rlimits = %+v", s.Process.Rlimits)
	}
	req.Resources = Resources{CPUs: 2.5}
	if s := mustBuild(t, req, &Policy{MaxCPUs: 4}); *s.Linux.Resources.CPU.Quota != 250000 {
		t.Errorf("2.5 cpus: quota = %d", *s.Linux.Resources.CPU.Quota)
	}
	req.Resources = Resources{}
	s = mustBuild(t, req, &Policy{MaxMemoryBytes: 1 << 30, HostPidsLimit: -1})
	if r := s.Linux.Resources; r.Memory == nil || *r.Memory.Limit != 1<<30 || r.Pids != nil {
		t.Errorf("no request limits under a policy cap: %+v", r)
	}
}

func TestOptionPolicySizes(t *testing.T) {
	fakeHost(t)
	s := mustBuild(t, sh(), &Policy{TmpSizeBytes: 1 << 20, ShmSizeBytes: 2 << 20, CgroupParent: "tenants/a"})
	if !slices.Contains(findMount(s, "/tmp").Options, "size=1048576") || !slices.Contains(findMount(s, "/dev/shm").Options, "size=2097152") {
		t.Errorf("sizes: /tmp %v /dev/shm %v", findMount(s, "/tmp").Options, findMount(s, "/dev/shm").Options)
	}
	if s.Linux.CgroupsPath != "/tenants/a/"+testID {
		t.Errorf("cgroupsPath = %q", s.Linux.CgroupsPath)
	}
}

func TestOptionVolumes(t *testing.T) {
	fakeHost(t)
	h := newHostTree(t)
	req := sh()
	req.User = User{UID: 7, GID: 8}
	req.Volumes = []Volume{
		{Type: VolumeBind, Source: h.allowed + "/to-sub", Destination: "/data/ro/", ReadOnly: true},
		{Type: VolumeBind, Source: h.allowed + "/file", Destination: "/etc/app.conf"},
		{Type: VolumeTmpfs, Destination: "/scratch", SizeBytes: 4096},
		{Type: VolumeTmpfs, Destination: "/tmp/sub", SizeBytes: 4096, ReadOnly: true},
	}
	s, p, err := build(testID, req, h.policy(), testPaths(t))
	if err != nil {
		t.Fatal(err)
	}
	ro := findMount(s, "/data/ro")
	if ro == nil || ro.Type != "bind" || ro.Source != h.allowed+"/data/sub" || !slices.Equal(ro.Options, []string{"bind", "nosuid", "nodev", "ro"}) {
		t.Errorf("read-only bind = %+v (source must be the resolved path)", ro)
	}
	rw := findMount(s, "/etc/app.conf")
	if rw == nil || !slices.Equal(rw.Options, []string{"bind", "nosuid", "nodev"}) {
		t.Errorf("writable bind = %+v", rw)
	}
	tm := findMount(s, "/scratch")
	if tm == nil || tm.Type != "tmpfs" || !slices.Equal(tm.Options, []string{"nosuid", "nodev", "mode=0755", "uid=7", "gid=8", "size=4096"}) {
		t.Errorf("tmpfs = %+v", tm)
	}
	if m := findMount(s, "/tmp/sub"); m == nil || !slices.Contains(m.Options, "ro") {
		t.Errorf("read-only tmpfs = %+v", m)
	}
	if len(p.pins) != 2 || p.pins[0].Src.Path != h.allowed+"/data/sub" || !p.pins[0].Src.IsDir || p.pins[1].Src.IsDir || p.pins[0].Src.Root != h.allowed {
		t.Errorf("pins = %+v", p.pins)
	}
	if s.Mounts[p.pins[0].Mount].Destination != "/data/ro" {
		t.Errorf("pin points at mount %d", p.pins[0].Mount)
	}
	wantMP := []mountPoint{{"/usr", true}, {"/data/ro", true}, {"/etc/app.conf", false}}
	if !slices.Equal(p.mountPoints, wantMP) {
		t.Errorf("mount points = %+v, want %+v", p.mountPoints, wantMP)
	}
}

func TestOptionSecrets(t *testing.T) {
	fakeHost(t)
	req := sh()
	req.Secrets = []Secret{
		{Name: "token", Data: []byte("t0k")},
		{Name: "tls.crt", Data: []byte("c"), Destination: "/etc/tls/crt", Mode: 0o444},
	}
	paths := testPaths(t)
	s, p, err := build(testID, req, nil, paths)
	if err != nil {
		t.Fatal(err)
	}
	tok := findMount(s, "/run/secrets/token")
	if tok == nil || tok.Type != "bind" || tok.Source != filepath.Join(paths.SecretsDir, "token") || !slices.Equal(tok.Options, []string{"bind", "ro", "nosuid", "nodev", "noexec"}) {
		t.Errorf("secret mount = %+v", tok)
	}
	if m := findMount(s, "/etc/tls/crt"); m == nil || m.Source != filepath.Join(paths.SecretsDir, "tls.crt") {
		t.Errorf("secret with destination = %+v", m)
	}
	if p.secrets[0].Mode != 0o400 || p.secrets[1].Mode != 0o444 || string(p.secrets[0].Data) != "t0k" {
		t.Errorf("staged = %+v", p.secrets)
	}
	if strings.Contains(jsonOf(t, s), "t0k") {
		t.Error("secret bytes in the spec")
	}
}

func TestOptionHostRootfs(t *testing.T) {
	fakeHost(t)
	h := newHostTree(t)
	req := sh()
	req.Rootfs = h.allowed + "/to-sub"
	req.Volumes = []Volume{tmpfsVol("/usr/local")} // no host binds to shadow
	s, p, err := build(testID, req, h.policy(), testPaths(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.rootfs == nil || p.rootfs.Path != h.allowed+"/data/sub" || len(p.links) != 0 {
		t.Errorf("rootfs plan = %+v links %v", p.rootfs, p.links)
	}
	if findMount(s, "/usr") != nil || findMount(s, "/bin") != nil {
		t.Error("a host rootfs must not get the host's /usr or /bin")
	}
	if s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("root = %+v", s.Root)
	}
}

// TestNoHooksEver: no request can produce hooks.
func TestNoHooksEver(t *testing.T) {
	fakeHost(t)
	for _, r := range allRequests(t) {
		if s := mustBuild(t, r.req, r.pol); s.Hooks != nil {
			t.Errorf("%s: hooks = %+v", r.name, s.Hooks)
		}
	}
}

func TestSecretRedaction(t *testing.T) {
	req := sh()
	req.Secrets = []Secret{{Name: "k", Data: []byte("hunter2-secret")}}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		if out := fmt.Sprintf(f, req); strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("fmt %s leaks the secret: %s", f, out)
		}
	}
	if out := jsonOf(t, req); strings.Contains(out, "hunter2") || strings.Contains(out, "aHVudGVy") {
		t.Errorf("JSON leaks the secret: %s", out)
	}
}

// TestSpecDoesNotAliasRequest: changing the request after Build must not
// change the spec (the daemon may reuse or log the request).
func TestSpecDoesNotAliasRequest(t *testing.T) {
	fakeHost(t)
	req := allRequests(t)[1]
	s := mustBuild(t, req.req, req.pol)
	before := jsonOf(t, s)
	r := req.req
	r.Args[0], r.Env[0], r.User.AdditionalGIDs[0] = "/evil", "EVIL=1", 0
	r.Annotations["com.example.a"], r.Labels["app"], r.Sysctls["fs.nr_open"] = "x", "x", "x"
	r.Seccomp.Syscalls[0].Names[0], r.Seccomp.Architectures[0] = "evil", "x"
	*r.Seccomp.DefaultErrnoRet = 99
	r.UserNamespace.UIDMappings[0].HostID = 0
	if after := jsonOf(t, s); after != before {
		t.Errorf("the spec changed with the request:\n%s\n%s", before, after)
	}
	for _, m := range s.Mounts {
		m.Options[0] = "evil"
	}
	if s2 := mustBuild(t, sh(), nil); findMount(s2, "/usr").Options[0] != "rbind" {
		t.Error("mount options are shared between specs")
	}
}
