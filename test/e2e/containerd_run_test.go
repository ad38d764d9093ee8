package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestE2EContainerdRun: ctr run through the shim prints the task's output,
// returns its exit code, and nucleusd shows the container while it runs
// (labelled with containerd's namespace and id), none after --rm.
func TestE2EContainerdRun(t *testing.T) {
	d, c := startShimStack(t)
	c.importImage()
	events := c.watchEvents(t)
	out, errOut, code := c.ctr("", "run", "--runtime", shimRuntime, "--rm", ctrImage, "run1", "sh", "-c", "echo hi; echo oops >&2; exit 3")
	if code != 3 || out != "hi\n" || !strings.Contains(errOut, "oops") {
		t.Fatalf("ctr run: exit %d, stdout %q, stderr %q (want 3, \"hi\\n\", oops)", code, out, errOut)
	}
	// Each task event once: one exit (with the real status), one delete.
	time.Sleep(2 * time.Second) // a late duplicate would have arrived
	for topic, want := range map[string]string{"/tasks/exit": `"exit_status":3`, "/tasks/delete": `"exit_status":3`, "/tasks/start": "", "/tasks/create": ""} {
		n := 0
		for _, line := range strings.Split(events.String(), "\n") {
			if strings.Contains(line, " "+topic+" ") && strings.Contains(line, `"container_id":"run1"`) && strings.Contains(line, want) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d %s events for run1 (want exactly one with %s):\n%s", n, topic, want, events.String())
		}
	}

	// ctr run: the task reads ctr's stdin to its end (ctr's CloseIO
	// after its stdin's EOF closes the container's).
	out, errOut, code = c.ctr("one\ntwo\nthree\n", "run", "--runtime", shimRuntime, "--rm", ctrImage, "stdin1", "sh", "-c", "wc -l; exit 5")
	if code != 5 || strings.TrimSpace(out) != "3" {
		t.Fatalf("ctr run with 3 lines on stdin: exit %d, stdout %q, stderr %q (want 5, 3)", code, out, errOut)
	}

	// While a task runs, nucleusd lists it under its qualified name.
	c.ctrOK("run", "-d", "--runtime", shimRuntime, ctrImage, "run2", "sleep", "60")
	cl := d.Client()
	list, err := cl.List(context.Background(), &nucleusv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var found *nucleusv1.Container
	for _, ctr := range list {
		if ctr.GetName() == "nucleustest.run2" {
			found = ctr
		}
	}
	if found == nil || found.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING ||
		found.GetSpec().GetLabels()["io.containerd.id"] != "run2" || found.GetSpec().GetLabels()["io.containerd.namespace"] != "nucleustest" {
		t.Fatalf("nucleusd's list: %v, want nucleustest.run2 running with containerd's labels", list)
	}
	if ps, _, _ := d.CtlRun("", "ps"); !strings.Contains(ps, "nucleustest.run2") {
		t.Fatalf("nucleusctl ps does not show the task:\n%s", ps)
	}
	c.ctrOK("task", "kill", "-s", "SIGKILL", "run2")
	waitTaskStopped(t, c, "run2")
	c.ctrQuiet("task", "rm", "run2")
	c.ctrOK("c", "rm", "run2")
	if left, _ := cl.List(context.Background(), &nucleusv1.ListRequest{}); len(left) != 0 {
		t.Fatalf("nucleusd records left after ctr task rm + c rm: %v", left)
	}
}
