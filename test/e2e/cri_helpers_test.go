package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/testutil"
	sandboxnetns "nucleus.dev/nucleus/sandbox/netns"
)

// The CRI tests' images, imported from a tar the test builds: nothing is
// ever pulled (the node namespace has no route anywhere).
const (
	criPauseImage = "nucleus.test/pause:1"
	criImage      = "nucleus.test/busybox:1"
	criSubnet     = "10.88.77.0/24" // the pods' bridge, inside the node namespace only
)

// criNode is Debian's containerd (or NUCLEUS_E2E_CONTAINERD's, with
// NUCLEUS_E2E_CTR's ctr) with its CRI plugin, started by a test on
// a private root, state and socket inside a network namespace of its own
// (the "node"): the CNI bridge, the pods' veths and containerd's streaming
// server live there, so no packet leaves the machine and the host's
// network is never touched. crictl runs in the same namespace.
type criNode struct {
	t                          *testing.T
	dir, netns, socket, config string
	crictlBin                  string
	cmd                        *exec.Cmd
	exited                     chan struct{}
	log                        *os.File
}

// newCRINode prepares the node (its dir, namespace and config) without
// starting containerd: a nucleusd for the "nucleus" handler is started
// in between, allowed the node's dir as host paths.
func newCRINode(t *testing.T) *criNode {
	t.Helper()
	testutil.E2E(t)
	testutil.RequireRoot(t, "containerd's CRI plugin makes namespaces, mounts and cgroups")
	for _, tool := range []string{containerdBin(), ctrBin(), "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Unavailable(t, tool+" is needed (apt-get install containerd util-linux): "+err.Error())
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", plugin)); err != nil {
			testutil.Unavailable(t, "the CNI plugins are needed (apt-get install containernetworking-plugins): "+err.Error())
		}
	}
	crictl := filepath.Join(testutil.RepoRoot(t), "bin", "crictl")
	if _, err := os.Stat(crictl); err != nil {
		testutil.Unavailable(t, "bin/crictl is needed (make bin/crictl): "+err.Error())
	}
	dir := cliTempDir(t, "nucleus-cri-")
	n := &criNode{t: t, dir: dir, netns: filepath.Join(dir, "node-netns"), socket: filepath.Join(dir, "containerd.sock"),
		config: filepath.Join(dir, "config.toml"), crictlBin: crictl}
	if err := sandboxnetns.Create(n.netns); err != nil {
		t.Fatalf("node namespace: %v", err)
	}
	t.Cleanup(func() { _ = sandboxnetns.Remove(n.netns) })
	n.writeConfig()
	return n
}

// boot starts containerd and imports the images; nucleusSocket, when set,
// is the nucleusd the "nucleus" handler's shim talks to.
func (n *criNode) boot(nucleusSocket string) {
	n.t.Helper()
	// Registered after the daemon's: pods are removed while nucleusd serves.
	n.t.Cleanup(n.cleanup)
	n.start(nucleusSocket)
	n.importImages()
}

// writeConfig writes containerd's config (version 2, containerd 1.6 and
// 1.7) and the CNI network: a bridge with a private subnet, no masquerade,
// IPAM state under the test's dir.
func (n *criNode) writeConfig() {
	n.t.Helper()
	cniConf := filepath.Join(n.dir, "cni")
	if err := os.MkdirAll(cniConf, 0o755); err != nil {
		n.t.Fatal(err)
	}
	cni := map[string]any{
		"cniVersion": "0.4.0", "name": "nucleus-test", "type": "bridge", "bridge": "cni-nt0",
		"isGateway": true, "ipMasq": false,
		"ipam": map[string]any{"type": "host-local", "ranges": [][]map[string]string{{{"subnet": criSubnet}}},
			"dataDir": filepath.Join(n.dir, "cni-ipam")},
	}
	b, _ := json.Marshal(cni)
	if err := os.WriteFile(filepath.Join(cniConf, "10-nucleus-test.conf"), b, 0o644); err != nil {
		n.t.Fatal(err)
	}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  level = "debug"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # The pause container's oom_score_adj (-998) may not be below
  # containerd's own without CAP_SYS_RESOURCE, which this machine lacks.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
%s
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, filepath.Join(n.dir, "root"), filepath.Join(n.dir, "state"), n.socket, n.socket+".ttrpc", criPauseImage,
		criNucleusRuntime, cniConf)
	if err := os.WriteFile(n.config, []byte(cfg), 0o600); err != nil {
		n.t.Fatal(err)
	}
}

// criNucleusRuntime is deploy/kubernetes' runtime snippet (version 2).
const criNucleusRuntime = `    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nucleus]
      runtime_type = "io.containerd.nucleus.v2"`

func (n *criNode) start(nucleusSocket string) {
	n.t.Helper()
	bin, err := binDir()
	if err != nil {
		n.t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(n.dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		n.t.Fatal(err)
	}
	n.log = logf
	n.cmd = exec.Command("nsenter", "--net="+n.netns, containerdBin(), "--config", n.config)
	n.cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	if nucleusSocket != "" {
		n.cmd.Env = append(n.cmd.Env, "NUCLEUS_ADDRESS=unix://"+nucleusSocket)
	}
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, _, code := n.crictl("info"); code == 0 {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("containerd's CRI plugin did not answer within 60s:\n%s", n.Log())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// importImages imports the pause and busybox images into the CRI plugin's
// namespace (k8s.io) from a docker archive built here.
func (n *criNode) importImages() {
	n.t.Helper()
	layer := busyboxLayer(n.t)
	pause := imagestest.Image(n.t, v1.Config{Entrypoint: []string{"/bin/sleep", "31536000"}, Env: []string{"PATH=/bin"}}, layer)
	app := imagestest.Image(n.t, v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}}, layer)
	imgs := map[name.Tag]v1.Image{}
	for ref, img := range map[string]v1.Image{criPauseImage: pause, criImage: app} {
		tag, err := name.NewTag(ref)
		if err != nil {
			n.t.Fatal(err)
		}
		imgs[tag] = img
	}
	path := filepath.Join(n.dir, "images.tar")
	if err := tarball.MultiWriteToFile(path, imgs); err != nil {
		n.t.Fatal(err)
	}
	if out, code := n.run(ctrBin(), "--address", n.socket, "--namespace", "k8s.io", "image", "import", path); code != 0 {
		n.t.Fatalf("ctr image import: exit %d: %s", code, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, _ := n.crictl("images", "-q")
		if strings.Count(out, "sha256:") >= 1 && strings.Contains(n.crictlOK("images"), "nucleus.test/pause") {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("the CRI plugin does not list the imported images:\n%s", out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// run runs a command with a 2-minute limit and returns its combined output.
func (n *criNode) run(args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return string(out), code
}

// crictl runs crictl in the node namespace (exec and attach reach
// containerd's streaming server there) with a 2-minute limit.
func (n *criNode) crictl(args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"--net=" + n.netns, n.crictlBin, "--runtime-endpoint", "unix://" + n.socket,
		"--image-endpoint", "unix://" + n.socket, "--timeout", "90s"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return stdout.String(), stderr.String(), code
}

// crictlOK runs crictl and fails the test unless it exits 0.
func (n *criNode) crictlOK(args ...string) string {
	n.t.Helper()
	out, errOut, code := n.crictl(args...)
	if code != 0 {
		n.t.Fatalf("crictl %s: exit %d\nstdout: %s\nstderr: %s\ncontainerd log:\n%s", strings.Join(args, " "), code, out, errOut, n.Log())
	}
	return out
}

// writeJSON writes v as name in the test's dir and returns the path.
func (n *criNode) writeJSON(name string, v any) string {
	n.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		n.t.Fatal(err)
	}
	path := filepath.Join(n.dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		n.t.Fatal(err)
	}
	return path
}

// podConfig is a crictl pod sandbox config (the pod's network: CNI).
func (n *criNode) podConfig(podName string) string {
	return n.podConfigWith(podName, map[string]any{})
}

// podConfigWith is podConfig with the pod's linux section (its
// resources, for one).
func (n *criNode) podConfigWith(podName string, linux map[string]any) string {
	logDir := filepath.Join(n.dir, "pods", podName)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	return n.writeJSON(podName+".json", map[string]any{
		"metadata":      map[string]any{"name": podName, "namespace": "default", "uid": podName + "-uid", "attempt": 1},
		"log_directory": logDir,
		"linux":         linux,
	})
}

// containerConfig is a crictl container config running script with sh.
func (n *criNode) containerConfig(ctrName, script string) string {
	return n.writeJSON(ctrName+".json", map[string]any{
		"metadata": map[string]any{"name": ctrName},
		"image":    map[string]any{"image": criImage},
		"command":  []string{"/bin/sh", "-c", script},
		"log_path": ctrName + ".log",
		"linux":    map[string]any{},
	})
}

// waitLogs waits (up to 30 s) until crictl logs of id contains want.
func (n *criNode) waitLogs(id, want string) string {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, errOut, _ := n.crictl("logs", id)
		if strings.Contains(out+errOut, want) {
			return out + errOut
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("crictl logs %s: %q, want %q within 30s", id, out+errOut, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// netnsEntries are the names under /var/run/netns (containerd makes the
// pods' namespaces there).
func netnsEntries() map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir("/var/run/netns")
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}

// Log is containerd's log.
func (n *criNode) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "containerd.log"))
	return tail(string(b), 8000)
}

func (n *criNode) cleanup() {
	n.crictl("rmp", "-a", "-f")
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-n.exited
		}
	}
	if n.log != nil {
		n.log.Close()
	}
	if n.t.Failed() {
		n.t.Logf("containerd log:\n%s", n.Log())
	}
	if out, err := os.ReadFile("/proc/self/mounts"); err == nil {
		lines := strings.Split(string(out), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if f := strings.Fields(lines[i]); len(f) > 1 && strings.HasPrefix(f[1], n.dir) {
				_ = syscall.Unmount(f[1], syscall.MNT_DETACH)
			}
		}
	}
}
