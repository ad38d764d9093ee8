package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2ESupervisorCrashLeavesItsTrace: a supervisor that dies without
// recording an exit (here the Go runtime's SIGQUIT dump, as a panic would)
// makes the container's exit "lost", as before, and the daemon's log now
// says why: the supervisor's stderr goes to its log, whose tail the daemon
// quotes when it finds the supervisor gone.
func TestE2ESupervisorCrashLeavesItsTrace(t *testing.T) {
	begin := time.Now()
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	spec := sh("sleep 300")
	spec.NoTimeout = true
	ct, err := c.RunDetached(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	pid := supervisorPid(t, d, ct.GetId())
	t.Logf("running after %v", time.Since(begin))
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }) {
		t.Fatal("the supervisor outlived SIGQUIT")
	}
	// The sandbox runs on unsupervised; once it is killed, nobody has
	// its exit status.
	t.Logf("supervisor gone after %v", time.Since(begin))
	killed := time.Now()
	if err := c.Kill(ctx, ct.GetId(), uint32(syscall.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	g := recWaitState(t, c, ct.GetId(), recExited, 30*time.Second)
	t.Logf("exit recorded %v after the kill", time.Since(killed))
	if g.GetExit().GetExitCode() != -1 || g.GetExit().GetReason() != "lost" {
		t.Errorf("exit after the supervisor died: %v, want -1 lost", g.GetExit())
	}
	log := d.Log()
	i := strings.Index(log, "supervisor gone without an exit status")
	if i < 0 {
		t.Fatal("the daemon did not log the lost supervisor")
	}
	if line := log[i:min(len(log), i+4096)]; !strings.Contains(line, "SIGQUIT") || !strings.Contains(line, "goroutine") {
		t.Errorf("the daemon's log line does not quote the supervisor's dying words: %.600s", line)
	}
	t.Logf("checked after %v", time.Since(begin))
}
