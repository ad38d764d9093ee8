package e2e

import (
	"strings"
	"testing"
)

// TestE2EContainerdTaskOps: ctr task exec (its own stdio and exit code),
// pause/resume (state PAUSED, then RUNNING), metrics (memory > 0) and kill
// (the exit status is the signal's) on a task run through the shim.
func TestE2EContainerdTaskOps(t *testing.T) {
	_, c := startShimStack(t)
	c.importImage()
	c.ctrOK("run", "-d", "--runtime", shimRuntime, ctrImage, "ops", "sleep", "120")

	out, errOut, code := c.ctr("", "task", "exec", "--exec-id", "e1", "ops", "sh", "-c", "echo in-exec; echo err-exec >&2; exit 5")
	if code != 5 || out != "in-exec\n" || !strings.Contains(errOut, "err-exec") {
		t.Fatalf("ctr task exec: exit %d, stdout %q, stderr %q (want 5, in-exec, err-exec)", code, out, errOut)
	}
	out, _, code = c.ctr("piped\n", "task", "exec", "--exec-id", "e2", "ops", "cat")
	if code != 0 || out != "piped\n" {
		t.Fatalf("ctr task exec cat: exit %d, stdout %q (want the stdin back)", code, out)
	}

	c.ctrOK("task", "pause", "ops")
	if st := taskStatus(t, c, "ops"); st != "PAUSED" {
		t.Fatalf("after pause: %s, want PAUSED", st)
	}
	c.ctrOK("task", "resume", "ops")
	if st := taskStatus(t, c, "ops"); st != "RUNNING" {
		t.Fatalf("after resume: %s, want RUNNING", st)
	}

	metrics := c.ctrOK("task", "metrics", "ops")
	if !metricPositive(metrics, "memory.usage_in_bytes") {
		t.Fatalf("ctr task metrics shows no memory use:\n%s", metrics)
	}

	c.ctrOK("task", "kill", "-s", "SIGTERM", "ops")
	waitTaskStopped(t, c, "ops")
	if code := taskExitCode(t, c, "ops"); code != 128+15 {
		t.Fatalf("exit status after SIGTERM: %d, want %d", code, 128+15)
	}
	c.ctrOK("c", "rm", "ops")
}

// taskStatus is the STATUS column of ctr task ls for id.
func taskStatus(t *testing.T, c *containerd, id string) string {
	t.Helper()
	out := c.ctrOK("task", "ls")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == id {
			return f[2]
		}
	}
	t.Fatalf("task %s not in ctr task ls:\n%s", id, out)
	return ""
}

// metricPositive reports whether ctr task metrics' table has key with a
// value above zero.
func metricPositive(out, key string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == key && f[1] != "0" {
			return true
		}
	}
	return false
}
