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

	// A task killed for memory: /tasks/oom, then its exit (containerd's CRI
	// plugin names the reason OOMKilled only in that order); none for run1.
	_, errOut, code = c.ctr("", "run", "--runtime", shimRuntime, "--rm", "--memory-limit", "67108864", ctrImage, "oom1", "sh", "-c", "tail /dev/zero")
	if code != 137 {
		t.Fatalf("ctr run of a memory hog under 64 MiB: exit %d, stderr %q; want 137", code, errOut)
	}
	oomAt, exitAt := -1, -1
	deadline := time.Now().Add(10 * time.Second)
	for (oomAt < 0 || exitAt < 0) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		log := events.String()
		oomAt, exitAt = eventIndex(log, "/tasks/oom", "oom1"), eventIndex(log, "/tasks/exit", "oom1")
	}
	if oomAt < 0 || exitAt < 0 || oomAt > exitAt {
		t.Fatalf("events for oom1: /tasks/oom at %d, /tasks/exit at %d; want both, oom first:\n%s", oomAt, exitAt, events.String())
	}
	if i := eventIndex(events.String(), "/tasks/oom", "run1"); i >= 0 {
		t.Fatalf("a /tasks/oom event for run1, which exited 3:\n%s", events.String())
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

// eventIndex is the offset in log (ctr events output) of the first topic
// event of container id, -1 if none.
func eventIndex(log, topic, id string) int {
	off := 0
	for _, line := range strings.SplitAfter(log, "\n") {
		if strings.Contains(line, " "+topic+" ") && strings.Contains(line, `"container_id":"`+id+`"`) {
			return off
		}
		off += len(line)
	}
	return -1
}
