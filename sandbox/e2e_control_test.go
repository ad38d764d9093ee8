package sandbox

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/internal/cgroup"
	"nucleus.dev/nucleus/sandbox/internal/testbundle"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

func TestE2ETimeoutKillsOnTime(t *testing.T) {
	e := newEnv(t)
	const timeout = 2 * time.Second
	id, _, _ := e.run("sleep 60", CreateOptions{Timeout: timeout}, testbundle.Options{})
	ex := e.wait(id, 30*time.Second)
	ran := ex.FinishedAt.Sub(ex.StartedAt)
	t.Logf("timeout %v: killed after %v (%v late)", timeout, ran, ran-timeout)
	if ex.Reason != supervisor.ReasonTimeout || ex.ExitCode != 137 || ex.Signal != 9 {
		t.Fatalf("exit status %+v", ex)
	}
	if ran < timeout || ran > timeout+time.Second {
		t.Fatalf("ran %v; want within a second after %v", ran, timeout)
	}
}

func TestE2EExec(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.run("sleep 60", CreateOptions{}, testbundle.Options{Env: []string{"FROM_CONTAINER=1"}})
	ctx := context.Background()

	var stdout, stderr bytes.Buffer
	start := time.Now()
	code, err := e.m.Exec(ctx, id, ExecSpec{Args: []string{"/bin/sh", "-c", "echo out; echo err >&2; read x; echo got $x; exit 7"}},
		strings.NewReader("hello\n"), &stdout, &stderr)
	t.Logf("exec round trip %v", time.Since(start))
	if err != nil || code != 7 || stdout.String() != "out\ngot hello\n" || stderr.String() != "err\n" {
		t.Fatalf("exec: code %d err %v stdout %q stderr %q", code, err, stdout.String(), stderr.String())
	}

	stdout.Reset()
	code, err = e.m.Exec(ctx, id, ExecSpec{
		Args: []string{"/bin/sh", "-c", "echo $FOO $FROM_CONTAINER; id -u; id -g; pwd"},
		Env:  []string{"FOO=bar"}, User: &specs.User{UID: 1000, GID: 1001}, Cwd: "/usr",
	}, nil, &stdout, io.Discard)
	if err != nil || code != 0 || stdout.String() != "bar 1\n1000\n1001\n/usr\n" {
		t.Fatalf("exec with env/user/cwd: %d %v %q", code, err, stdout.String())
	}

	// A vanished client (cancelled ctx) ends its exec, inside the sandbox too.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(500*time.Millisecond, cancel)
	start = time.Now()
	_, err = e.m.Exec(cctx, id, ExecSpec{Args: []string{"/bin/sh", "-c", "sleep 300 & sleep 301"}}, nil, io.Discard, io.Discard)
	if err == nil || cctx.Err() == nil {
		t.Fatalf("cancelled exec returned %v", err)
	}
	t.Logf("cancelled exec returned %v after the cancel", time.Since(start)-500*time.Millisecond)
	pids, err := e.m.runsc.Ps(ctx, id)
	if err != nil || len(pids) != 2 { // sh and its sleep 60
		t.Fatalf("processes after the cancelled exec: %v %v", pids, err)
	}

	if _, err := e.m.Exec(ctx, id, ExecSpec{Args: []string{"true"}, Cwd: "/proc/self/fd/3"}, nil, nil, nil); !isKind(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("exec with cwd under /proc: %v", err)
	}
	if _, err := e.m.Stop(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Exec(ctx, id, ExecSpec{Args: []string{"true"}}, nil, nil, nil); !isKind(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("exec into a stopped container: %v", err)
	}
}

func TestE2EStopKillStatsPause(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Ignores SIGTERM: Stop must escalate to SIGKILL after the grace period.
	id, _, _ := e.run(`trap "" TERM; sleep 60 & wait; sleep 60`, CreateOptions{}, testbundle.Options{MemoryLimit: 256 << 20, PidsLimit: 100})
	time.Sleep(200 * time.Millisecond)

	st, err := e.m.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := cgroup.Dir(st.SandboxPid, "cpuacct")
	if err != nil {
		t.Fatal(err)
	}
	before, err := cgroup.CPUUsage(acct)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := e.m.Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := cgroup.CPUUsage(acct)
	t.Logf("stats: %+v", stats)
	if stats.MemoryUsage == 0 || stats.PidsCurrent < 2 || stats.MemoryLimit != 256<<20 || stats.CPUUsageNanos == 0 {
		t.Errorf("stats %+v", stats)
	}
	// CPU is the whole sandbox's, from its host cgroup, as runsc events
	// reports it (not the sentry's smaller count of the container's tasks).
	if stats.CPUUsageNanos < before || stats.CPUUsageNanos > after {
		t.Errorf("CPU %d ns, want the host cgroup's usage, between %d and %d", stats.CPUUsageNanos, before, after)
	}

	if err := e.m.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st, err := e.m.Status(ctx, id); err != nil || st.State != runsc.StatePaused {
		t.Fatalf("after pause: %+v %v", st, err)
	}
	if err := e.m.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st, err := e.m.Status(ctx, id); err != nil || st.State != specs.StateRunning {
		t.Fatalf("after resume: %+v %v", st, err)
	}
	if err := e.m.Delete(ctx, id, DeleteOptions{}); !isKind(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("delete of a running container without force: %v", err)
	}

	const grace = 500 * time.Millisecond
	start := time.Now()
	ex, err := e.m.Stop(ctx, id, grace)
	took := time.Since(start)
	t.Logf("stop with grace %v took %v: %+v", grace, took, ex)
	if err != nil || ex.Reason != supervisor.ReasonKilled || ex.ExitCode != 137 || ex.Signal != 9 {
		t.Fatalf("stop: %+v %v", ex, err)
	}
	if took < grace || took > grace+2*time.Second {
		t.Errorf("stop took %v", took)
	}
	if again, err := e.m.Stop(ctx, id, grace); err != nil || again != ex {
		t.Fatalf("stop of a stopped container: %+v %v", again, err)
	}
	if err := e.m.Kill(ctx, id, unix.SIGTERM, false); !isKind(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("kill of a stopped container: %v", err)
	}

	// Any signal by name or number.
	id2, _, _ := e.run("trap 'exit 3' USR1; sleep 60 & wait", CreateOptions{}, testbundle.Options{})
	time.Sleep(200 * time.Millisecond)
	sig, err := runsc.ParseSignal("usr1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.Kill(ctx, id2, sig, false); err != nil {
		t.Fatal(err)
	}
	if ex := e.wait(id2, 10*time.Second); ex.ExitCode != 3 || ex.Reason != supervisor.ReasonExited {
		t.Fatalf("after SIGUSR1: %+v", ex)
	}
}

// The sentry dies of SIGKILL from outside: the supervisor, its parent,
// still learns and records it.
func TestE2ESentryKilled(t *testing.T) {
	e := newEnv(t)
	id, st, _ := e.run("sleep 60", CreateOptions{}, testbundle.Options{})
	if err := unix.Kill(st.SandboxPid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ex := e.wait(id, 10*time.Second)
	if ex.ExitCode != 137 || ex.Signal != 9 || ex.Reason != supervisor.ReasonKilled || ex.OOMKilled {
		t.Fatalf("exit status %+v", ex)
	}
}

// The host OOM killer kills the sentry: reported as OOM-killed.
func TestE2EOOMKilled(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.run("tail /dev/zero", CreateOptions{}, testbundle.Options{MemoryLimit: 64 << 20})
	start := time.Now()
	ex := e.wait(id, 90*time.Second)
	t.Logf("OOM after %v: %+v", time.Since(start), ex)
	if !ex.OOMKilled || ex.Reason != supervisor.ReasonOOM || ex.ExitCode != 137 {
		t.Fatalf("exit status %+v", ex)
	}
}

func TestE2EStdin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, _, _ := e.run("cat; echo done", CreateOptions{OpenStdin: true}, testbundle.Options{})
	w, err := e.m.AttachStdin(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.AttachStdin(ctx, id, false); !isKind(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("second stdin attachment: %v", err)
	}
	if _, err := io.WriteString(w, "hello\x1b[2J\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ex := e.wait(id, 10*time.Second)
	if ex.ExitCode != 0 {
		t.Fatalf("exit %+v", ex)
	}
	if got := string(e.logs(id)["stdout"]); got != "hello\x1b[2J\r\ndone\n" {
		t.Fatalf("stdout %q", got)
	}
}

func TestE2EDeleteLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, st, _ := e.run("sleep 60", CreateOptions{OpenStdin: true}, testbundle.Options{})
	supervisorPid := st.SupervisorPid
	start := time.Now()
	if err := e.m.Delete(ctx, id, DeleteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	t.Logf("forced delete of a running container took %v", time.Since(start))
	if unix.Kill(supervisorPid, 0) == nil {
		if procs := processesMentioning(id); len(procs) > 0 {
			t.Fatalf("supervisor still alive: %v", procs)
		}
	}
	e.assertGone(id)
	if _, err := e.m.Status(ctx, id); !isKind(err, errdefs.ErrNotFound) {
		t.Fatalf("status after delete: %v", err)
	}

	// KeepLogs keeps only the log.
	id2, _, _ := e.run("echo kept", CreateOptions{}, testbundle.Options{})
	e.wait(id2, 10*time.Second)
	if err := e.m.Delete(ctx, id2, DeleteOptions{KeepLogs: true}); err != nil {
		t.Fatal(err)
	}
	if got := string(e.logs(id2)["stdout"]); got != "kept\n" {
		t.Fatalf("kept log %q", got)
	}
	if err := removeAllAtomic(e.m.Paths(id2).Container); err != nil {
		t.Fatal(err)
	}
}
