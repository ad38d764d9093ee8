package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestE2EContainerdShimKill9: kill -9 of the shim while its task runs
// loses no exit status: containerd's cleanup (the shim's delete action)
// reports the task's real exit code in /tasks/exit, and leaves no nucleusd
// record behind.
func TestE2EContainerdShimKill9(t *testing.T) {
	d, c := startShimStack(t)
	c.importImage()
	events := c.watchEvents(t)
	c.ctrOK("run", "-d", "--runtime", shimRuntime, ctrImage, "k9", "sh", "-c", "sleep 2; exit 7")
	pid := c.shimPid("k9")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, `"exit_status":7`, 30*time.Second)
	c.ctrOK("c", "rm", "k9")
	assertNoRecords(t, d)
}

// TestE2EContainerdRestart: containerd restarting while a task runs (and
// the task exiting while containerd is down) loses no exit status: the shim
// keeps serving, containerd reconnects, and the task's status is its own.
func TestE2EContainerdRestart(t *testing.T) {
	d, c := startShimStack(t)
	c.importImage()
	c.ctrOK("run", "-d", "--runtime", shimRuntime, ctrImage, "rs", "sh", "-c", "sleep 3; exit 9")
	c.stop()
	time.Sleep(5 * time.Second) // the task exits while containerd is away
	c.start()
	waitTaskStopped(t, c, "rs")
	if code := taskExitCode(t, c, "rs"); code != 9 {
		t.Fatalf("exit status after a containerd restart: %d, want 9", code)
	}
	c.ctrOK("c", "rm", "rs")
	c.waitShimGone("rs")
	assertNoRecords(t, d)
}

// TestE2EContainerdNucleusdRestart: nucleusd killed (-9) and restarted
// under a running task (its supervisor holds the container) loses no exit
// status: the shim's wait and its later calls wait for nucleusd to be back.
func TestE2EContainerdNucleusdRestart(t *testing.T) {
	d, c := startShimStack(t)
	c.importImage()
	c.ctrOK("run", "-d", "--runtime", shimRuntime, ctrImage, "nr", "sh", "-c", "sleep 3; exit 5")
	d.Kill9()
	time.Sleep(4 * time.Second) // the task exits while nucleusd is down
	d.Start()
	waitTaskStopped(t, c, "nr")
	if code := taskExitCode(t, c, "nr"); code != 5 {
		t.Fatalf("exit status after a nucleusd restart: %d, want 5", code)
	}
	c.ctrOK("c", "rm", "nr")
	c.waitShimGone("nr")
	assertNoRecords(t, d)
}

// assertNoRecords fails if nucleusd still has a container (after bounded
// waiting: removals are asynchronous on the host side only).
func assertNoRecords(t *testing.T, d *Daemon) {
	t.Helper()
	left, err := d.Client().List(context.Background(), &nucleusv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("nucleusd records left: %v", left)
	}
}

// eventLog is the output of a running `ctr events`.
type eventLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (e *eventLog) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.buf.Write(p)
}

func (e *eventLog) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.buf.String()
}

// waitFor waits until the events contain s.
func (e *eventLog) waitFor(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(e.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no event with %s within %s; events:\n%s", s, limit, e.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// watchEvents runs `ctr events` until the test ends.
func (c *containerd) watchEvents(t *testing.T) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &eventLog{}
	cmd := exec.CommandContext(ctx, ctrBin(), "--address", c.socket, "events")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	time.Sleep(300 * time.Millisecond) // subscribed before the test acts
	return log
}
