package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/ttrpc"
)

// TestE2EContainerdRefused: what Nucleus does not grant fails the task
// with a message ctr prints, and leaves no nucleusd record: --privileged
// (the shim refuses the added capabilities) and a bind mount outside the
// operator's allowed_host_paths (nucleusd refuses it).
func TestE2EContainerdRefused(t *testing.T) {
	d, c := startShimStack(t)
	c.importImage()
	_, errOut, code := c.ctr("", "run", "--runtime", shimRuntime, "--rm", "--privileged", ctrImage, "priv", "true")
	if code == 0 || !strings.Contains(errOut, "privileged tasks and added capabilities are refused (CAP_") {
		t.Fatalf("ctr run --privileged: exit %d, stderr %q; want a refusal naming the capabilities", code, errOut)
	}
	_, errOut, code = c.ctr("", "run", "--runtime", shimRuntime, "--rm", "--mount", "type=bind,src=/usr/share,dst=/hostshare,options=rbind:ro", ctrImage, "bind", "true")
	if code == 0 || !strings.Contains(errOut, "allowed_host_paths") {
		t.Fatalf("ctr run with a bind of /usr/share: exit %d, stderr %q; want nucleusd's allowed_host_paths refusal", code, errOut)
	}
	_, errOut, code = c.ctr("", "run", "--runtime", shimRuntime, "--rm", "--net-host", ctrImage, "nethost", "true")
	if code == 0 || !strings.Contains(errOut, "host's network namespace is refused") {
		t.Fatalf("ctr run --net-host: exit %d, stderr %q; want the host namespace refusal", code, errOut)
	}
	assertNoRecords(t, d)
}

// TestE2EContainerdFlood: 50 MB of random stdout reaches ctr intact
// through nucleusd's log and the FIFO (sha256 compared), and a tmpfs mount
// becomes a tmpfs volume.
func TestE2EContainerdFlood(t *testing.T) {
	_, c := startShimStack(t)
	c.importImage()
	script := "head -c 50000000 /dev/urandom > /scratch/f && busybox sha256sum /scratch/f >&2 && cat /scratch/f"
	out, errOut, code := c.ctr("", "run", "--runtime", shimRuntime, "--rm",
		"--mount", "type=tmpfs,src=tmpfs,dst=/scratch,options=size=100m", ctrImage, "flood", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("flood: exit %d, stderr %q", code, errOut)
	}
	sum := sha256.Sum256([]byte(out))
	got := hex.EncodeToString(sum[:])
	if len(out) != 50000000 || !strings.Contains(errOut, got) {
		t.Fatalf("flood: %d bytes with sha256 %s; the container reported %q", len(out), got, errOut)
	}
}

// TestE2EContainerdShimHostile: the shim's ttrpc socket is root's alone
// (another uid cannot connect; with the modes opened up, the server's peer
// check still refuses it), and a malformed config.json fails Create with a
// clear error.
func TestE2EContainerdShimHostile(t *testing.T) {
	d, c := startShimStack(t)
	shim := binary(t, "containerd-shim-nucleus-v2")
	bundle := filepath.Join(c.state, "hostile-bundle")
	if err := os.MkdirAll(bundle, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"process": {"args": ["sh"`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-namespace", "hostile", "-id", "h1", "-address", filepath.Join(c.dir, "no-containerd.sock")}
	cmd := exec.Command(shim, append(args, "start")...)
	cmd.Dir = bundle
	cmd.Env = append(os.Environ(), "NUCLEUS_ADDRESS=unix://"+d.Socket)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("shim start: %v", err)
	}
	socket := strings.TrimPrefix(string(out), "unix://")
	t.Cleanup(func() {
		if conn, err := net.Dial("unix", socket); err == nil {
			cl := ttrpc.NewClient(conn)
			_, _ = taskapi.NewTaskClient(cl).Shutdown(context.Background(), &taskapi.ShutdownRequest{ID: "h1", Now: true})
			cl.Close()
		}
		del := exec.Command(shim, append(args, "delete")...)
		del.Dir, del.Env = bundle, cmd.Env
		_ = del.Run()
		c.waitShimGone("h1")
	})
	st, err := os.Stat(socket)
	if err != nil {
		t.Fatal(err)
	}
	dirSt, err := os.Stat(filepath.Dir(socket))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || dirSt.Mode().Perm() != 0o700 {
		t.Fatalf("socket mode %v in a dir of mode %v; want 0600 in 0700", st.Mode(), dirSt.Mode())
	}
	if r := asUser(t, d.Socket, 65534, 65534, nil, childCall{Op: "shim-connect", Path: socket}); r[0].Kind == "" {
		t.Fatal("uid 65534 reached the shim's task service")
	}
	// Defence in depth: with the modes opened, the server's SO_PEERCRED check refuses.
	if err := os.Chmod(filepath.Dir(socket), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(socket, 0o666); err != nil {
		t.Fatal(err)
	}
	r := asUser(t, d.Socket, 65534, 65534, nil, childCall{Op: "shim-connect", Path: socket})
	os.Chmod(filepath.Dir(socket), 0o700) //nolint:errcheck
	os.Chmod(socket, 0o600)               //nolint:errcheck
	if r[0].Kind == "" {
		t.Fatal("uid 65534 reached the shim's task service once the socket modes allowed it to connect")
	}
	if err := doShimConnect(context.Background(), socket); err != nil {
		t.Fatalf("root cannot use the shim: %v", err)
	}

	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = taskapi.NewTaskClient(cl).Create(ctx, &taskapi.CreateTaskRequest{ID: "h1", Bundle: bundle})
	if err == nil || !strings.Contains(err.Error(), "config.json is not a valid OCI runtime spec") {
		t.Fatalf("Create with a malformed config.json: %v; want a clear error", err)
	}
	assertNoRecords(t, d)
}

// doShimConnect calls the task service's Connect on a shim socket.
func doShimConnect(ctx context.Context, socket string) error {
	conn, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return err
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := taskapi.NewTaskClient(cl).Connect(ctx, &taskapi.ConnectRequest{ID: "x"})
	if err != nil {
		return err
	}
	if resp.GetShimPid() == 0 {
		return fmt.Errorf("connect answered no shim pid")
	}
	return nil
}
