package network_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/network/nettest"
)

// TestRunscSandboxNetwork: gVisor's netstack (runsc --network=sandbox) on
// an attached namespace resolves an allowed name through the manager's
// resolver and fetches from its host, and gets nothing from a denied one.
func TestRunscSandboxNetwork(t *testing.T) {
	runsc := testutil.Runsc(t)
	e := newEnv(t, nil)
	a := e.attach("gv", allowlist([]string{"allowed.test"}, "203.0.113.10/32"))
	dir := t.TempDir()
	// The root is the host's, writable through an overlay in memory: the
	// container's resolv.conf is written there as the daemon would bind it.
	get := func(host string) string { // busybox nc: the CI installs busybox-static; its wget crashes under gVisor
		return "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 3 " + host + " 80"
	}
	script := "printf '" + string(a.ResolvConf) + "' > /etc/resolv.conf; " + get("allowed.test") + "; echo; " +
		get("denied.test") + " || echo denied-failed; " + get(nettest.DeniedHost.String()) + " || echo direct-failed"
	spec := map[string]any{
		"ociVersion": "1.0.0",
		"process": map[string]any{"args": []string{"/bin/sh", "-c", script}, "cwd": "/",
			"env": []string{"PATH=/usr/bin:/bin"}, "user": map[string]int{"uid": 0, "gid": 0}},
		"root": map[string]any{"path": "/", "readonly": false},
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
		},
		"linux": map[string]any{"namespaces": []map[string]string{
			{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
			{"type": "network", "path": a.NetnsPath},
		}},
	}
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	t.Cleanup(func() { _ = unix.Unmount(filepath.Join(state, "null-netns"), unix.MNT_DETACH) })
	cmd := exec.Command(runsc, "--root", state, "--network=sandbox", "--overlay2=root:memory", "run", "--bundle", dir, "smoke-gv")
	done := make(chan struct{})
	time.AfterFunc(60*time.Second, func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	got := string(out)
	t.Logf("sandbox output:\n%s", got)
	if err != nil {
		t.Fatalf("runsc: %v", err)
	}
	for _, want := range []string{"host " + nettest.AllowedHost.String(), "denied-failed", "direct-failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	c, err := e.m.Counters("gv")
	if err != nil || c.DroppedEgress == 0 {
		t.Errorf("counters %+v %v, want drops", c, err)
	}
}
