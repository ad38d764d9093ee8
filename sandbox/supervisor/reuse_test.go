package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/testutil"
)

// specN is the n-th container's spec in w, started at create.
func specN(w *fakeWorld, n int) Spec {
	s := w.spec
	s.ID = fmt.Sprintf("%032x", 0xabc000+n)
	s.Dir = filepath.Join(filepath.Dir(w.spec.Dir), fmt.Sprintf("sup-%d", n))
	s.LogPath = fmt.Sprintf("%s.%d", w.spec.LogPath, n)
	s.ExitPath = fmt.Sprintf("%s.%d", w.spec.ExitPath, n)
	s.Start = true
	return s
}

// waitIdle waits until the spawner holds pid as a free supervisor.
func waitIdle(t *testing.T, s *Spawner, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if sp := s.currentSpare(); sp != nil && sp.cmd.Process.Pid == pid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("supervisor %d did not come back free", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func idleCount(s *Spawner) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.idle)
}

// TestSpawnerReusesSupervisors: with Reuse a supervisor whose container
// ended serves the next create, in that container's directory, up to
// Reuse containers, then exits; one whose container failed to create, or
// that was killed while free, is never handed out again.
func TestSpawnerReusesSupervisors(t *testing.T) {
	// The sleep keeps each fake sandbox alive past the fake runsc that
	// started it (that shell would reap it otherwise).
	w := newFakeWorld(t, "sleep 0.1; echo out $$; exit 0")
	opts := w.opts
	opts.Reuse, opts.MaxIdle, opts.RefillDelay = 2, 4, time.Hour // no refill during the test
	s := NewSpawner(opts)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c1 := specN(w, 1)
	st1, err := s.Spawn(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	p := st1.SupervisorPid
	waitIdle(t, s, p)
	if ex, err := ReadExit(c1.ExitPath); err != nil || ex.ExitCode != 0 {
		t.Fatalf("first container's exit: %+v %v", ex, err)
	}
	if _, ok := Running(c1.Dir); ok {
		t.Error("the first container's directory still names a running supervisor after its exit")
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", p)); cwd != "/" {
		t.Errorf("a free supervisor works in %q, want /", cwd)
	}

	c2 := specN(w, 2)
	st2, err := s.Spawn(ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	if st2.SupervisorPid != p {
		t.Fatalf("second create served by pid %d, want the reused %d", st2.SupervisorPid, p)
	}
	// Its second container is its last (Reuse 2): it exits after it.
	if !exits(p, 10*time.Second) {
		t.Fatal("a supervisor past Reuse containers did not exit")
	}
	if ex, err := ReadExit(c2.ExitPath); err != nil || ex.ExitCode != 0 {
		log2, _ := os.ReadFile(c2.path(LogFile))
		t.Fatalf("second container's exit: %+v %v\n%s", ex, err, log2)
	}
	log2, _ := os.ReadFile(c2.path(LogFile))
	if !strings.Contains(string(log2), "supervising in a reused process") {
		t.Errorf("the reused supervisor's log does not say so:\n%s", log2)
	}
	// Each container's output is its own.
	for _, c := range []Spec{c1, c2} {
		out, err := os.ReadFile(c.LogPath)
		if err != nil || strings.Count(string(out), " F out ") != 1 {
			t.Errorf("log of %s: %q %v", c.ID, out, err)
		}
	}

	// A failed create: the reused process reports it and exits.
	c3 := specN(w, 3)
	st3, err := s.Spawn(ctx, c3)
	if err != nil {
		t.Fatal(err)
	}
	q := st3.SupervisorPid
	if q == p {
		t.Fatal("an exited supervisor served a create")
	}
	waitIdle(t, s, q)
	if err := os.WriteFile(filepath.Join(w.dir, "create.fail"), []byte("no such bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Spawn(ctx, specN(w, 4)); err == nil || !strings.Contains(err.Error(), "no such bundle") {
		t.Fatalf("create failure through a reused supervisor: %v", err)
	}
	if !exits(q, 10*time.Second) {
		t.Fatal("a supervisor whose create failed did not exit")
	}
	if err := os.Remove(filepath.Join(w.dir, "create.fail")); err != nil {
		t.Fatal(err)
	}
	if n := idleCount(s); n != 0 {
		t.Fatalf("%d free supervisors after the failed create, want 0", n)
	}

	// Killed while free: the next create starts a new process instead.
	c5 := specN(w, 5)
	st5, err := s.Spawn(ctx, c5)
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s, st5.SupervisorPid)
	if err := unix.Kill(st5.SupervisorPid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !exits(st5.SupervisorPid, 5*time.Second) {
		t.Fatal("SIGKILL did not end the free supervisor")
	}
	c6 := specN(w, 6)
	st6, err := s.Spawn(ctx, c6)
	if err != nil {
		t.Fatalf("create after the free supervisor was killed: %v", err)
	}
	if st6.SupervisorPid == st5.SupervisorPid {
		t.Fatal("a killed supervisor was handed a spec")
	}
	waitIdle(t, s, st6.SupervisorPid)
	if ex, err := ReadExit(c6.ExitPath); err != nil || ex.ExitCode != 0 {
		t.Fatalf("exit after a killed free supervisor: %+v %v", ex, err)
	}
}

// TestSpawnerIdleBounds: no more than MaxIdle supervisors are kept free,
// those beyond the newest end after IdleTimeout, and Close ends the rest.
func TestSpawnerIdleBounds(t *testing.T) {
	w := newFakeWorld(t, "sleep 0.3; exit 0")
	opts := w.opts
	opts.Reuse, opts.MaxIdle, opts.RefillDelay, opts.IdleTimeout = 10, 2, time.Hour, 600*time.Millisecond
	s := NewSpawner(opts)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pids []int
	for n := range 3 { // three at once: three processes
		st, err := s.Spawn(ctx, specN(w, n))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, st.SupervisorPid)
	}
	ended := 0
	deadline := time.Now().Add(10 * time.Second)
	for ended == 0 && time.Now().Before(deadline) {
		for _, pid := range pids {
			if gone(pid) || zombie(pid) {
				ended++
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ended != 1 || idleCount(s) != 2 {
		t.Fatalf("after 3 containers with MaxIdle 2: %d exited, %d free; want 1 and 2", ended, idleCount(s))
	}
	time.Sleep(opts.IdleTimeout + 400*time.Millisecond)
	if n := idleCount(s); n != 1 {
		t.Fatalf("%d free supervisors %v after IdleTimeout, want 1", n, opts.IdleTimeout+400*time.Millisecond)
	}
	last := s.currentSpare().cmd.Process.Pid
	s.Close()
	if !exits(last, 5*time.Second) {
		t.Fatal("a free supervisor outlived Close")
	}
}

// TestFreeSupervisorRefusesABadSpecLine: a free supervisor given a line
// that is not an absolute path, or an over-long one, exits instead of
// supervising anything.
func TestFreeSupervisorRefusesABadSpecLine(t *testing.T) {
	w := newFakeWorld(t, "sleep 0.1; exit 0")
	opts := w.opts
	opts.Reuse, opts.MaxIdle, opts.RefillDelay = 5, 4, time.Hour
	s := NewSpawner(opts)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, line := range []string{"relative/spec.json\n", strings.Repeat("/x", 1<<16) + "\n"} {
		st, err := s.Spawn(ctx, specN(w, 10+i))
		if err != nil {
			t.Fatal(err)
		}
		waitIdle(t, s, st.SupervisorPid)
		sp := s.takeSpare()
		// The over-long line may be refused (EPIPE) before all of it is
		// written.
		_, _ = sp.specW.WriteString(line)
		if !exits(st.SupervisorPid, 10*time.Second) {
			stack, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.SupervisorPid))
			t.Fatalf("a free supervisor given %.40q did not exit: %s", line, stack)
		}
		sp.discard()
	}
}

// TestThreadsAlike: a thread working elsewhere than /, or in another
// namespace, makes a process unfit for reuse (checked on child processes:
// this test binary's own threads are not all in one place).
func TestThreadsAlike(t *testing.T) {
	testutil.RequireRoot(t, "a child in a UTS namespace of its own")
	initial := namespaces("/proc/thread-self")
	check := func(dir string, attr *syscall.SysProcAttr) error {
		cmd := exec.Command("/bin/sleep", "30")
		cmd.Dir, cmd.SysProcAttr = dir, attr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		return threadsAlike(fmt.Sprintf("/proc/%d/task", cmd.Process.Pid), initial)
	}
	if err := check("/", nil); err != nil {
		t.Errorf("a process in / and in our namespaces: %v", err)
	}
	if err := check(os.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "works in") {
		t.Errorf("a process working in %s: %v, want refused", os.TempDir(), err)
	}
	if err := check("/", &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}); err == nil || !strings.Contains(err.Error(), "uts namespace") {
		t.Errorf("a process in another UTS namespace: %v, want refused", err)
	}
}

// TestCurrentStateCountsPidfdsApart: a pidfd (what gVisor's reaped
// children leave until their finalizers run) is counted as one, not as an
// open file, so the reuse check neither refuses a supervisor for them nor
// loses track of them (settle collects past pidfdsBeforeGC). The counts are
// the whole test process's: a file of another test that a finalizer closes
// between the two counts shifts them, so a mismatch is measured again, up
// to five times (CI saw one such shift).
func TestCurrentStateCountsPidfdsApart(t *testing.T) {
	runtime.GC() // finalizers of earlier tests' files, before counting
	var mismatch string
	for range 5 {
		before, after, err := countAroundPidfdsAndAFile(3)
		if err != nil {
			t.Fatal(err)
		}
		if after.pidfds == before.pidfds+3 && after.fds == before.fds+1 {
			return
		}
		mismatch = fmt.Sprintf("after 3 pidfds and a file: %d pidfds and %d files; before %d and %d", after.pidfds, after.fds, before.pidfds, before.fds)
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal(mismatch)
}

// countAroundPidfdsAndAFile is currentState before and while n pidfds
// and one file are open.
func countAroundPidfdsAndAFile(n int) (before, after processState, err error) {
	if before, err = currentState(); err != nil {
		return before, after, err
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for range n {
		fd, err := unix.PidfdOpen(os.Getpid(), 0)
		if err != nil {
			return before, after, fmt.Errorf("pidfd_open: %w", err)
		}
		fds = append(fds, fd)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		return before, after, err
	}
	defer f.Close()
	after, err = currentState()
	return before, after, err
}
