package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestE2ECRINucleus: crictl against containerd's CRI plugin with the
// "nucleus" runtime handler (runtime_type io.containerd.nucleus.v2) runs a
// pod and a container in it under nucleusd; the container has the pod's
// CNI address (the pod's namespace joined) and the mounts kubelet would
// pass (a read-only token dir, a termination-log file under /dev, the CRI
// plugin's /etc/hosts); crictl exec and crictl logs work; a sidecar in the
// same pod shares the pod's gVisor sandbox (the app reaches it on
// localhost, both have the pod's address); removing the pod leaves
// nothing on the host: no nucleusd record, mount, cgroup or network
// namespace.
func TestE2ECRINucleus(t *testing.T) {
	n := newCRINode(t)
	binary(t, "containerd-shim-nucleus-v2")
	d := StartDaemon(t, DaemonOptions{Config: fmt.Sprintf("[security]\nallowed_host_paths = [%q]\n", n.dir)})
	n.boot(d.Socket)
	before := netnsEntries()

	// kubelet's pod dir, under the node's dir (allowed_host_paths).
	podDir := filepath.Join(n.dir, "kubelet", "pods", "pod-nucleus-uid")
	token := filepath.Join(podDir, "volumes", "kubernetes.io~projected", "token")
	termLog := filepath.Join(podDir, "containers", "app", "termination-log")
	for _, dir := range []string{token, filepath.Dir(termLog)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, data := range map[string]string{filepath.Join(token, "token"): "eyJ-cri", termLog: ""} {
		if err := os.WriteFile(p, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(termLog, 0o666); err != nil {
		t.Fatal(err)
	}
	sa := "/var/run/secrets/kubernetes.io/serviceaccount"
	appCfg := n.writeJSON("app.json", map[string]any{
		"metadata": map[string]any{"name": "app"},
		"image":    map[string]any{"image": criImage},
		"command": []string{"/bin/sh", "-c", "echo hello-from-nucleus; cat " + sa + "/token; echo; " +
			"echo bye > /dev/termination-log; grep -q localhost /etc/hosts && echo hosts-ok; exec sleep 600"},
		"log_path": "app.log",
		"mounts": []map[string]any{
			{"container_path": sa, "host_path": token, "readonly": true},
			{"container_path": "/dev/termination-log", "host_path": termLog},
		},
		"linux": map[string]any{},
	})
	// The pod's limits, as kubelet gives them (the sum of its containers'):
	// they size the pod's sandbox.
	podCfg := n.podConfigWith("pod-nucleus", map[string]any{"resources": map[string]any{
		"memory_limit_in_bytes": 256 << 20, "cpu_quota": 150000, "cpu_period": 100000}})
	pod := strings.TrimSpace(n.crictlOK("runp", "--runtime", "nucleus", podCfg))
	ctr := strings.TrimSpace(n.crictlOK("create", pod, appCfg, podCfg))
	n.crictlOK("start", ctr)

	if out := n.crictlOK("exec", ctr, "/bin/sh", "-c", "echo exec-ok"); out != "exec-ok\n" {
		t.Errorf("crictl exec: %q, want \"exec-ok\\n\"", out)
	}
	if out := n.crictlOK("exec", ctr, "/bin/busybox", "ip", "-4", "addr"); !strings.Contains(out, "10.88.77.") {
		t.Errorf("the container's addresses:\n%s\nwant the pod's address in %s", out, criSubnet)
	}
	logs := n.waitLogs(ctr, "hosts-ok")
	if !strings.Contains(logs, "hello-from-nucleus\neyJ-cri\n") {
		t.Errorf("crictl logs: %q, want the greeting and the token", logs)
	}
	if b, err := os.ReadFile(termLog); err != nil || string(b) != "bye\n" {
		t.Errorf("termination-log on the host: %q, %v", b, err)
	}
	if out, _, code := n.crictl("exec", ctr, "/bin/sh", "-c", "echo x > "+sa+"/x"); code == 0 {
		t.Errorf("the read-only token dir was writable: %q", out)
	}

	// A sidecar in the same pod: one gVisor sandbox, so the app reaches it
	// on localhost and both have the pod's address.
	side := strings.TrimSpace(n.crictlOK("create", pod, n.containerConfig("side",
		"mkdir -p /tmp/www && echo from-the-sidecar > /tmp/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /tmp/www"), podCfg))
	n.crictlOK("start", side)
	var got string
	for i := 0; i < 50 && !strings.Contains(got, "from-the-sidecar"); i++ {
		got, _, _ = n.crictl("exec", ctr, "/bin/busybox", "wget", "-qO-", "http://127.0.0.1:8080/")
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(got, "from-the-sidecar") {
		t.Errorf("the app's wget of the sidecar on localhost: %q, want from-the-sidecar", got)
	}
	if out := n.crictlOK("exec", side, "/bin/busybox", "ip", "-4", "addr"); !strings.Contains(out, "10.88.77.") {
		t.Errorf("the sidecar's addresses:\n%s\nwant the pod's address in %s", out, criSubnet)
	}

	list, err := d.Client().List(context.Background(), &nucleusv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.GetId())
	}
	if len(list) != 3 {
		t.Errorf("nucleusd lists %d containers, want 3 (the pod's pause, app and sidecar)", len(list))
	}
	var pause string
	for _, c := range list {
		if c.GetSpec().GetPod() == "" {
			pause = c.GetId()
		}
	}
	if v := strings.TrimSpace(cgroupValue(t, "memory", pause, "memory.limit_in_bytes")); v != "268435456" {
		t.Errorf("the pod's sandbox memory limit %s, want the pod's 256 MiB", v)
	}
	if v := strings.TrimSpace(cgroupValue(t, "cpu", pause, "cpu.cfs_quota_us")); v != "150000" {
		t.Errorf("the pod's sandbox CPU quota %s, want the pod's 1.5 CPUs", v)
	}
	for _, c := range list {
		if c.GetId() != pause && c.GetSpec().GetPod() != pause {
			t.Errorf("container %s is in pod %q, want the pause container's sandbox %s", c.GetName(), c.GetSpec().GetPod(), pause)
		}
	}

	n.crictlOK("stopp", pod)
	n.crictlOK("rmp", pod)
	if left, err := d.Client().List(context.Background(), &nucleusv1.ListRequest{}); err != nil || len(left) != 0 {
		t.Errorf("nucleusd records after rmp: %v (%v)", left, err)
	}
	for name := range netnsEntries() {
		if !before[name] {
			t.Errorf("network namespace %s left in /var/run/netns after rmp", name)
		}
	}
	if left := waitNoLeftovers(d, 20*time.Second); len(left) != 0 {
		t.Errorf("nucleusd leftovers after rmp: %v", left)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(mi), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], n.dir+"/") && !strings.HasSuffix(f[4], "node-netns") {
				t.Errorf("mount left after rmp: %s", f[4])
			}
		}
	}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/nucleus/*")
	cgroups2, _ := filepath.Glob("/sys/fs/cgroup/nucleus/*")
	for _, cg := range append(cgroups, cgroups2...) {
		for _, id := range ids {
			if strings.Contains(cg, id) {
				t.Errorf("cgroup left after rmp: %s", cg)
			}
		}
	}
}
