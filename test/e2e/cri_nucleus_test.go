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
// CNI address (the pod's namespace joined), crictl exec and crictl logs
// work, and removing the pod leaves nothing on the host: no nucleusd
// record, mount, cgroup or network namespace.
func TestE2ECRINucleus(t *testing.T) {
	n := newCRINode(t)
	binary(t, "containerd-shim-nucleus-v2")
	d := StartDaemon(t, DaemonOptions{Config: fmt.Sprintf("[security]\nallowed_host_paths = [%q]\n", n.dir)})
	n.boot(d.Socket)
	before := netnsEntries()
	podCfg := n.podConfig("pod-nucleus")
	pod := strings.TrimSpace(n.crictlOK("runp", "--runtime", "nucleus", podCfg))
	ctr := strings.TrimSpace(n.crictlOK("create", pod, n.containerConfig("app", "echo hello-from-nucleus; exec sleep 600"), podCfg))
	n.crictlOK("start", ctr)

	if out := n.crictlOK("exec", ctr, "/bin/sh", "-c", "echo exec-ok"); out != "exec-ok\n" {
		t.Errorf("crictl exec: %q, want \"exec-ok\\n\"", out)
	}
	if out := n.crictlOK("exec", ctr, "/bin/busybox", "ip", "-4", "addr"); !strings.Contains(out, "10.88.77.") {
		t.Errorf("the container's addresses:\n%s\nwant the pod's address in %s", out, criSubnet)
	}
	if out := n.waitLogs(ctr, "hello-from-nucleus"); !strings.Contains(out, "hello-from-nucleus") {
		t.Errorf("crictl logs: %q", out)
	}
	list, err := d.Client().List(context.Background(), &nucleusv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.GetId())
	}
	if len(list) != 2 {
		t.Errorf("nucleusd lists %d containers, want 2 (the pod's pause and app)", len(list))
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
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], filepath.Join(n.dir, "state")+"/") {
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
