package e2e

import (
	"bytes"
	"context"
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
)

// shimRuntime is the runtime type that selects containerd-shim-nucleus-v2.
const shimRuntime = "io.containerd.nucleus.v2"

// ctrImage is the image the containerd tests import and run.
const ctrImage = "nucleus.test/busybox:1"

// containerdBin and ctrBin are Debian's containerd and ctr, or the ones
// NUCLEUS_E2E_CONTAINERD and NUCLEUS_E2E_CTR name (a containerd 2.x build:
// the shim serves both).
func containerdBin() string { return envOr("NUCLEUS_E2E_CONTAINERD", "containerd") }
func ctrBin() string        { return envOr("NUCLEUS_E2E_CTR", "ctr") }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// containerd is Debian's containerd started by a test on a private root,
// state and socket, finding containerd-shim-nucleus-v2 on its PATH and the
// daemon under test through NUCLEUS_ADDRESS.
type containerd struct {
	t      *testing.T
	d      *Daemon
	dir    string
	root   string
	state  string
	socket string
	config string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

// shimDaemon starts a nucleusd that allows containerd's task dirs under
// dir as rootfs (root only, as the shim runs) and the containerd that uses
// it.
func startShimStack(t *testing.T) (*Daemon, *containerd) {
	t.Helper()
	testutil.E2E(t)
	if _, err := exec.LookPath(containerdBin()); err != nil {
		testutil.Unavailable(t, "containerd is needed (apt-get install containerd): "+err.Error())
	}
	binary(t, "containerd-shim-nucleus-v2")
	dir := cliTempDir(t, "nucleus-ctrd-")
	state := filepath.Join(dir, "state")
	d := StartDaemon(t, DaemonOptions{Config: fmt.Sprintf("[security]\nallowed_host_paths = [%q]\n", state)})
	c := &containerd{t: t, d: d, dir: dir, root: filepath.Join(dir, "root"), state: state,
		socket: filepath.Join(dir, "containerd.sock"), config: filepath.Join(dir, "config.toml")}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  level = "debug"
`, c.root, c.state, c.socket, c.socket+".ttrpc")
	if err := os.WriteFile(c.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.start()
	t.Cleanup(c.cleanup)
	return d, c
}

func (c *containerd) start() {
	c.t.Helper()
	bin, err := binDir()
	if err != nil {
		c.t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	c.log = logf
	c.cmd = exec.Command(containerdBin(), "--config", c.config)
	c.cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "NUCLEUS_ADDRESS=unix://"+c.d.Socket)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.exited = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.exited) }() //nolint:errcheck
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, code := c.ctrQuiet("version"); code == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("containerd did not answer within 30s:\n%s", c.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop ends containerd (SIGTERM, then SIGKILL); shims keep running.
func (c *containerd) stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	terminate(c.cmd.Process, c.exited, 15*time.Second)
	c.log.Close()
}

// Log is containerd's log (shim log lines included).
func (c *containerd) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "containerd.log"))
	return tail(string(b), 6000)
}

func (c *containerd) cleanup() {
	// Tasks first (their shims and nucleusd containers), then containerd.
	if out, _, code := c.ctrQuiet("task", "ls", "-q"); code == 0 {
		for _, id := range strings.Fields(out) {
			c.ctrQuiet("task", "kill", "-s", "SIGKILL", id)
			c.ctrQuiet("task", "rm", "-f", id)
		}
	}
	if out, _, code := c.ctrQuiet("c", "ls", "-q"); code == 0 {
		for _, id := range strings.Fields(out) {
			c.ctrQuiet("c", "rm", id)
		}
	}
	c.stop()
	c.reapShims()
	if c.t.Failed() {
		c.t.Logf("containerd log:\n%s", c.Log())
	}
	// Unmount whatever a dead shim left mounted before removing the tree.
	if out, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], c.dir) {
				_ = syscall.Unmount(f[1], syscall.MNT_DETACH)
			}
		}
	}
	os.RemoveAll(c.dir)
}

// ctr runs ctr against this containerd with a 2-minute limit.
func (c *containerd) ctr(stdin string, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ctrBin(), append([]string{"--address", c.socket, "--namespace", "nucleustest"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
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

func (c *containerd) ctrQuiet(args ...string) (string, string, int) { return c.ctr("", args...) }

// ctrOK runs ctr and fails the test unless it exits 0.
func (c *containerd) ctrOK(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.ctr("", args...)
	if code != 0 {
		c.t.Fatalf("ctr %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// importImage builds a busybox image as a docker archive and imports it.
func (c *containerd) importImage() {
	c.t.Helper()
	img := imagestest.Image(c.t, v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}}, busyboxLayer(c.t))
	ref, err := name.NewTag(ctrImage)
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(c.dir, "busybox.tar")
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		c.t.Fatal(err)
	}
	c.ctrOK("image", "import", path)
}

// waitTaskStopped waits (up to 30s) until ctr task ls shows id STOPPED.
func waitTaskStopped(t *testing.T, c *containerd, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, _ := c.ctrQuiet("task", "ls")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == id && f[2] == "STOPPED" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not STOPPED within 30s:\n%s", id, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// taskExitCode removes task id and returns the exit code ctr reports
// ("task ID exit with non-zero exit code N"; 0 when it says nothing).
func taskExitCode(t *testing.T, c *containerd, id string) int {
	t.Helper()
	out, errOut, code := c.ctr("", "task", "rm", id)
	if code != 0 {
		t.Fatalf("ctr task rm %s: exit %d\n%s%s", id, code, out, errOut)
	}
	const marker = "non-zero exit code "
	i := strings.Index(errOut, marker)
	if i < 0 {
		return 0
	}
	var n int
	fmt.Sscan(errOut[i+len(marker):], &n)
	return n
}
