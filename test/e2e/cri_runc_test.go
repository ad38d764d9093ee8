package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/testutil"
)

// TestE2ECRIHarnessRunc is the CRI harness's self-check with containerd's
// default runc runtime: crictl runp, create, start, exec, logs, stopp and
// rmp work against the private containerd, the pod gets an address on the
// test's bridge, and rmp leaves no pod network namespace behind.
func TestE2ECRIHarnessRunc(t *testing.T) {
	testutil.E2E(t)
	if _, err := exec.LookPath("runc"); err != nil {
		testutil.Unavailable(t, "runc is needed for the harness self-check (apt-get install runc): "+err.Error())
	}
	before := netnsEntries()
	n := newCRINode(t)
	n.boot("")
	pod := strings.TrimSpace(n.crictlOK("runp", n.podConfig("pod-runc")))
	ctr := strings.TrimSpace(n.crictlOK("create", pod, n.containerConfig("app", "echo hello-from-cri; exec sleep 600"), n.podConfig("pod-runc")))
	n.crictlOK("start", ctr)
	if out := n.crictlOK("exec", ctr, "/bin/sh", "-c", "echo exec-ok; ip -4 addr 2>/dev/null | grep -c 10.88.77. || cat /proc/net/fib_trie | grep -c 10.88.77."); !strings.HasPrefix(out, "exec-ok\n") {
		t.Errorf("crictl exec: %q", out)
	}
	if out := n.crictlOK("inspectp", "-o", "go-template", "--template", "{{.status.network.ip}}", pod); !strings.HasPrefix(strings.TrimSpace(out), "10.88.77.") {
		t.Errorf("pod address %q, want one in %s", out, criSubnet)
	}
	n.waitLogs(ctr, "hello-from-cri")
	n.crictlOK("stopp", pod)
	n.crictlOK("rmp", pod)
	if out := n.crictlOK("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("containers after rmp: %q", out)
	}
	for name := range netnsEntries() {
		if !before[name] {
			t.Errorf("network namespace %s left in /var/run/netns after rmp", name)
		}
	}
}
