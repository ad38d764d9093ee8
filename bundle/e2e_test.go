package bundle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// sandbox is one e2e container: its bundle paths and runsc state root.
type sandbox struct {
	t      *testing.T
	runsc  string
	id     string
	paths  Paths
	root   string   // runsc --root
	flags  []string // extra global runsc flags
	policy *Policy
}

// newSandbox prepares paths for a container whose secrets dir lies in a
// test temp dir and whose bundle lies in another.
func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	runsc := testutil.Runsc(t)
	id := randomID(t)
	tmp := t.TempDir()
	s := &sandbox{
		t: t, runsc: runsc, id: id, root: filepath.Join(tmp, "runsc"),
		paths: Paths{
			BundleDir:  filepath.Join(tmp, "root", "containers", id, "bundle"),
			SecretsDir: filepath.Join(tmp, "state", "secrets", id),
		},
		policy: &Policy{CgroupParent: "nucleus-e2e", DeniedHostPaths: []string{filepath.Join(tmp, "root"), filepath.Join(tmp, "state")}},
	}
	t.Cleanup(func() {
		out, err := exec.Command(runsc, "--root", s.root, "delete", "--force", id).CombinedOutput()
		if err != nil && !bytes.Contains(out, []byte("does not exist")) && !bytes.Contains(out, []byte("not found")) {
			t.Logf("runsc delete: %v: %s", err, out)
		}
		// runsc keeps a shared empty network namespace bound in its root.
		_ = unix.Unmount(filepath.Join(s.root, "null-netns"), unix.MNT_DETACH)
		if err := Remove(s.paths); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	return s
}

func randomID(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// run creates the bundle and runs it to completion with runsc run,
// returning stdout; stderr and the runsc log are reported on failure.
func (s *sandbox) run(req *Request) string {
	s.t.Helper()
	if _, err := Create(s.id, req, s.policy, s.paths); err != nil {
		s.t.Fatalf("Create: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--root", s.root, "--network=none"}, s.flags...)
	if d := os.Getenv("NUCLEUS_RUNSC_DEBUG"); d != "" {
		args = append(args, "--debug", "--debug-log="+d+"/")
	}
	args = append(args, "run", "--bundle", s.paths.BundleDir, s.id)
	cmd := exec.CommandContext(ctx, s.runsc, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	s.t.Logf("runsc run took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		s.t.Fatalf("runsc run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func shRequest(script string) *Request {
	return &Request{Args: []string{"/bin/sh", "-c", script}}
}

// lines parses "KEY=value" lines of the inside script.
func lines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func wantKV(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("inside the sandbox %s = %q, want %q", k, got[k], v)
		}
	}
}

const hardeningScript = `
echo CAPEFF=$(grep ^CapEff /proc/self/status | cut -f2)
echo CAPBND=$(grep ^CapBnd /proc/self/status | cut -f2)
echo NNP=$(grep ^NoNewPrivs /proc/self/status | cut -f2)
touch /rootfile 2>/dev/null && echo ROOT=writable || echo ROOT=readonly
touch /usr/nucleus-probe 2>/dev/null && echo USR=writable || echo USR=readonly
echo KCORE=$(head -c 16 /proc/kcore 2>/dev/null | wc -c)
echo KALLSYMS=$(head -c 16 /proc/kallsyms 2>/dev/null | wc -c)
(echo 1 > /proc/sys/kernel/hostname) 2>/dev/null && echo PROCSYS=writable || echo PROCSYS=readonly
(echo 1 > /proc/sys/vm/overcommit_memory) 2>/dev/null && echo PROCSYS_VM=writable || echo PROCSYS_VM=readonly
echo IFACES=$(sed -n '3,$p' /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ,)
echo NOFILE=$(ulimit -n)
echo NPROC=$(grep 'Max processes' /proc/self/limits | tr -s ' ' | cut -d' ' -f3)
echo MEMLOCK=$(ulimit -l)
echo data > /tmp/probe && echo TMP=writable || echo TMP=readonly
cp /bin/true /tmp/true && chmod +x /tmp/true && (/tmp/true 2>/dev/null && echo TMPEXEC=exec || echo TMPEXEC=noexec)
echo PATH=$PATH
echo CWD=$(pwd)
echo ID=$(id -u):$(id -g)
echo HOSTNAME=$(hostname)
echo DEVS=$(ls /dev | tr '\n' ',')
`

// TestE2EHardening runs the default bundle and checks the hardening from
// inside the sandbox.
func TestE2EHardening(t *testing.T) {
	s := newSandbox(t)
	req := shRequest(hardeningScript)
	req.Resources.Pids = 64
	out := s.run(req)
	t.Logf("inside:\n%s", out)
	got := lines(out)
	wantKV(t, got, map[string]string{
		"CAPEFF": "0000000000000000", "CAPBND": "0000000000000000", "NNP": "1",
		"ROOT": "readonly", "USR": "readonly",
		"KCORE": "0", "KALLSYMS": "0",
		"PROCSYS": "readonly", "PROCSYS_VM": "readonly",
		"IFACES": "lo,",
		"NOFILE": "1024", "NPROC": "64", "MEMLOCK": "64",
		"TMP": "writable", "TMPEXEC": "noexec",
		"PATH": DefaultPath, "CWD": "/", "ID": "0:0",
		"HOSTNAME": s.id[:12],
	})
	if host := os.Getenv("PATH"); host != DefaultPath && strings.Contains(out, host) {
		t.Errorf("the host PATH %q leaked into the sandbox", host)
	}
}

// TestE2ESecretsAndVolumes checks a secret, a read-only volume, a writable
// volume and a tmpfs volume from inside, and that the secret's bytes are
// nowhere on disk under the bundle.
func TestE2ESecretsAndVolumes(t *testing.T) {
	s := newSandbox(t)
	allowed := t.TempDir()
	ro := filepath.Join(allowed, "ro")
	rw := filepath.Join(allowed, "rw")
	for _, d := range []string{ro, rw} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ro, "hello"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.policy.AllowedHostPaths = []string{allowed}
	s.policy.AllowHostPaths = true
	secret := "s3cr3t-" + randomID(t)
	req := shRequest(`
echo SECRET=$(cat /run/secrets/api-token)
echo SECRETMODE=$(stat -c %a /run/secrets/api-token)
echo SECRET2=$(cat /etc/app/cert)
echo SECRET2MODE=$(stat -c %a /etc/app/cert)
(echo x > /run/secrets/api-token) 2>/dev/null && echo SECRETRO=writable || echo SECRETRO=readonly
echo RO=$(cat /data/ro/hello)
touch /data/ro/new 2>/dev/null && echo ROWRITE=writable || echo ROWRITE=readonly
echo out > /data/rw/out && echo RWWRITE=writable || echo RWWRITE=readonly
echo x > /scratch/f && echo SCRATCH=writable || echo SCRATCH=readonly
`)
	req.Secrets = []Secret{
		{Name: "api-token", Data: []byte(secret)},
		{Name: "cert", Data: []byte(secret + "-cert"), Destination: "/etc/app/cert", Mode: 0o440},
	}
	req.Volumes = []Volume{
		{Type: VolumeBind, Source: ro, Destination: "/data/ro", ReadOnly: true},
		{Type: VolumeBind, Source: rw, Destination: "/data/rw"},
		{Type: VolumeTmpfs, Destination: "/scratch", SizeBytes: 1 << 20},
	}
	out := s.run(req)
	t.Logf("inside:\n%s", out)
	wantKV(t, lines(out), map[string]string{
		"SECRET": secret, "SECRETMODE": "400", "SECRETRO": "readonly",
		"SECRET2": secret + "-cert", "SECRET2MODE": "440",
		"RO": "from-host", "ROWRITE": "readonly", "RWWRITE": "writable", "SCRATCH": "writable",
	})
	if b, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(b) != "out\n" {
		t.Errorf("the writable volume's file on the host = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Error("the read-only volume was written")
	}
	// Nowhere under the daemon's root (store, bundles) on disk.
	assertNotOnDisk(t, filepath.Dir(filepath.Dir(filepath.Dir(s.paths.BundleDir))), secret)
	var sfs unix.Statfs_t
	if err := unix.Statfs(s.paths.SecretsDir, &sfs); err != nil || sfs.Type != unix.TMPFS_MAGIC {
		t.Errorf("secrets dir is not a tmpfs: %v", err)
	}
	// Remove wipes and unmounts the secrets, and is idempotent.
	for range 2 {
		if err := Remove(s.paths); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	for _, p := range []string{s.paths.SecretsDir, s.paths.BundleDir} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists after Remove: %v", p, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(ro, "hello")); err != nil || string(b) != "from-host\n" {
		t.Errorf("Remove touched the volume's host data: %q, %v", b, err)
	}
}

// assertNotOnDisk walks dir (not crossing mounts) and fails if any file
// holds needle.
func assertNotOnDisk(t *testing.T, dir, needle string) {
	t.Helper()
	rootMnt, err := mountID(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if id, err := mountID(p); err == nil && id != rootMnt {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(needle)) {
			t.Errorf("secret bytes found on disk in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestE2ERefusedVolume checks that a refused volume leaves no bundle and
// no mount behind.
func TestE2ERefusedVolume(t *testing.T) {
	s := newSandbox(t)
	allowed := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(allowed, "escape")); err != nil {
		t.Fatal(err)
	}
	s.policy.AllowedHostPaths = []string{allowed}
	s.policy.AllowHostPaths = true
	for _, src := range []string{filepath.Join(allowed, "escape"), "/etc", "/", s.paths.BundleDir} {
		req := shRequest("true")
		req.Secrets = []Secret{{Name: "x", Data: []byte("x")}}
		req.Volumes = []Volume{{Type: VolumeBind, Source: src, Destination: "/data"}}
		_, err := Create(s.id, req, s.policy, s.paths)
		if !errors.Is(err, errdefs.ErrPermissionDenied) && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Create with volume source %s: err = %v, want a refusal", src, err)
		}
		for _, p := range []string{s.paths.BundleDir, s.paths.SecretsDir} {
			if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s exists after a refused Create", p)
			}
		}
	}
	if m := testMounts(t); len(m) != 0 {
		t.Errorf("a refused volume left mounts: %v", m)
	}
}

// TestE2EHostRootfs runs a host-directory rootfs holding only busybox.
func TestE2EHostRootfs(t *testing.T) {
	s := newSandbox(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		testutil.Unavailable(t, "needs /bin/busybox (busybox-static; .ci/run installs it)")
	}
	allowed := t.TempDir()
	rootfs := filepath.Join(allowed, "img")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	s.policy.AllowedHostPaths = []string{allowed}
	s.policy.AllowHostPaths = true
	req := &Request{Args: []string{"/bin/busybox", "sh", "-c", `
/bin/busybox touch /x 2>/dev/null && echo ROOT=writable || echo ROOT=readonly
echo SECRET=$(/bin/busybox cat /run/secrets/token)
echo LS=$(/bin/busybox ls /bin | /bin/busybox tr '\n' ',')
`}, Rootfs: rootfs, Secrets: []Secret{{Name: "token", Data: []byte("tok")}}}
	out := s.run(req)
	wantKV(t, lines(out), map[string]string{"ROOT": "readonly", "SECRET": "tok", "LS": "busybox,"})
	if err := Remove(s.paths); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "bin", "busybox")); err != nil {
		t.Errorf("Remove damaged the host rootfs: %v", err)
	}
}

// TestE2ESeccomp applies an OCI seccomp profile inside the sandbox.
func TestE2ESeccomp(t *testing.T) {
	s := newSandbox(t)
	s.policy.OCISeccomp = true
	s.flags = []string{"--oci-seccomp"}
	req := shRequest(`mkdir /tmp/d 2>/dev/null && echo MKDIR=allowed || echo MKDIR=denied; echo OK=1`)
	req.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	}
	wantKV(t, lines(s.run(req)), map[string]string{"MKDIR": "denied", "OK": "1"})
}

// TestE2EUserNamespace maps container root to host 100000 and checks that
// the process can still read its secret.
func TestE2EUserNamespace(t *testing.T) {
	s := newSandbox(t)
	req := shRequest(`echo ID=$(id -u):$(id -g); echo SECRET=$(cat /run/secrets/k); echo OWNER=$(stat -c %u /run/secrets/k)`)
	req.User = User{UID: 1000, GID: 1000}
	req.UserNamespace = &UserNamespace{
		UIDMappings: []IDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GIDMappings: []IDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
	}
	req.Secrets = []Secret{{Name: "k", Data: []byte("v")}}
	// The gofer runs as the mapped root (host uid 100000): the bundle's
	// parents must be traversable (Create makes the bundle itself 0711).
	if err := os.MkdirAll(filepath.Dir(s.paths.BundleDir), 0o711); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(s.paths.BundleDir); p != filepath.Clean(os.TempDir()) && p != "/"; p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	wantKV(t, lines(s.run(req)), map[string]string{"ID": "1000:1000", "SECRET": "v", "OWNER": "1000"})
}

// TestE2EResources runs with memory and CPU limits and checks from the
// host that the sandbox's cgroup got them, and the policy's pids limit
// rather than the request's pids (which became RLIMIT_NPROC inside).
func TestE2EResources(t *testing.T) {
	s := newSandbox(t)
	req := shRequest(`echo NPROC=$(grep 'Max processes' /proc/self/limits | tr -s ' ' | cut -d' ' -f3)
(i=0; while [ $i -lt 40 ]; do sleep 1 & i=$((i+1)); done) 2>/dev/null
sleep 2; echo ALIVE=1`)
	req.Resources = Resources{MemoryBytes: 256 << 20, CPUs: 0.5, Pids: 16}
	type read struct{ pids, mem, quota string }
	got := make(chan read, 1)
	go func() {
		var r read
		for range 100 {
			time.Sleep(50 * time.Millisecond)
			r = read{cgroupFile("pids", s.id, "pids.max"), cgroupFile("memory", s.id, "memory.limit_in_bytes"), cgroupFile("cpu", s.id, "cpu.cfs_quota_us")}
			if r.pids != "" && r.mem != "" && r.quota != "" {
				break
			}
		}
		got <- r
	}()
	wantKV(t, lines(s.run(req)), map[string]string{"NPROC": "16", "ALIVE": "1"})
	r := <-got
	if _, err := os.Stat("/sys/fs/cgroup/pids"); err != nil {
		t.Logf("no cgroup v1 pids hierarchy; host cgroup values not checked")
		return
	}
	if r.pids != "1024" || r.mem != "268435456" || r.quota != "50000" {
		t.Errorf("host cgroup: pids.max %q memory %q cfs quota %q; want 1024, 268435456, 50000", r.pids, r.mem, r.quota)
	}
}

// cgroupFile reads a cgroup v1 control file of the e2e sandbox id ("" when
// absent).
func cgroupFile(controller, id, file string) string {
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, "nucleus-e2e", id, file))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// TestE2EOverlayModes: the default runs above use runsc's default
// --overlay2=root:self, which runsc skips for a read-only root; the bundle
// must behave the same with the overlay off or in memory.
func TestE2EOverlayModes(t *testing.T) {
	for _, flag := range []string{"--overlay2=none", "--overlay2=root:memory"} {
		t.Run(flag, func(t *testing.T) {
			s := newSandbox(t)
			s.flags = []string{flag}
			req := shRequest(`touch /x 2>/dev/null && echo ROOT=writable || echo ROOT=readonly
echo x > /tmp/x && echo TMP=writable
echo SECRET=$(cat /run/secrets/s)`)
			req.Secrets = []Secret{{Name: "s", Data: []byte("v")}}
			wantKV(t, lines(s.run(req)), map[string]string{"ROOT": "readonly", "TMP": "writable", "SECRET": "v"})
		})
	}
}
