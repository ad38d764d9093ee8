package hooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// execPath is how the child execs the validated inode: its fd 3 is the
	// O_PATH fd openVerified checked. It stays open across exec because a
	// "#!" script is handed to its interpreter as /dev/fd/3.
	execPath = "/proc/self/fd/3"
	// childLimit is RLIMIT_NOFILE and RLIMIT_NPROC (soft and hard) in a hook.
	childLimit = 1024
	// outputGrace is how long output is still read after the hook's group
	// was killed and reaped; only a process that escaped the group (setsid)
	// can hold the pipe that long.
	outputGrace = time.Second
)

// result is how a hook run ended.
type result struct {
	status   unix.WaitStatus
	timedOut bool
	ctxErr   error
	output   string
}

// execute runs the hook whose validated O_PATH fd is hookFD, with state on
// stdin, until it exits, the timeout fires or ctx ends; then it kills the
// hook's process group, reaps the hook and returns the tail of its output.
func execute(ctx context.Context, hookFD int, argv, env []string, state []byte, timeout time.Duration) (result, error) {
	stdin, err := stateFile(state)
	if err != nil {
		return result{}, err
	}
	defer stdin.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return result{}, fmt.Errorf("output pipe: %w", err)
	}
	pid, err := start(hookFD, argv, env, stdin.Fd(), outW.Fd())
	outW.Close()
	if err != nil {
		outR.Close()
		return result{}, err
	}
	out := &tail{limit: OutputLimit}
	drained := make(chan struct{})
	go out.drain(outR, drained)

	// Wait with WNOWAIT: the hook stays an unreaped zombie, so its pid, and
	// with it the process group id, cannot be reused before the group kill.
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		var info unix.Siginfo
		for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var res result
	select {
	case <-exited:
	case <-timer.C:
		res.timedOut = true
	case <-ctx.Done():
		res.ctxErr = ctx.Err()
	}
	// Kill the whole group: everything on a timeout, and whatever the hook
	// left behind when it exited by itself. A hook never outlives its run.
	_ = unix.Kill(-pid, unix.SIGKILL)
	<-exited
	_, err = wait4(pid, &res.status, 0)
	_ = outR.SetReadDeadline(time.Now().Add(outputGrace))
	<-drained
	if err != nil {
		return result{}, fmt.Errorf("reap hook: %w", err)
	}
	res.output = out.String()
	return res, nil
}

// stateFile returns a read-only file holding state, for the hook's stdin.
// A memfd rather than a pipe: a hook that never reads stdin cannot block
// nucleusd, whatever the size of the state, and no writer goroutine exists.
func stateFile(state []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("nucleus-hook-state", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd for hook state: %w", err)
	}
	rw := os.NewFile(uintptr(fd), "hook-state")
	defer rw.Close()
	if _, err := rw.Write(state); err != nil {
		return nil, fmt.Errorf("write hook state: %w", err)
	}
	// Reopen read-only: a fresh open file description, at offset 0.
	return os.Open(fmt.Sprintf("/proc/self/fd/%d", fd))
}

// start forks and execs the hook on a dedicated OS thread, in its own
// process group, and returns its pid once its NO_NEW_PRIVS and rlimits are
// in place and it has been let go.
//
// NO_NEW_PRIVS is a per-thread attribute that fork copies, and Go cannot set
// it between fork and exec (SysProcAttr has no field for it). So the fork
// happens on a thread locked with runtime.LockOSThread on which
// PR_SET_NO_NEW_PRIVS was set. The lock is never released: when the
// goroutine returns, the runtime terminates that thread (or parks it for
// good if it is the main thread), so no other goroutine and no other child
// ever runs on it, and the runtime never clones new threads from a locked one.
//
// Rlimits are per process: setting them in nucleusd, even briefly, would
// limit nucleusd. prlimit(2) on the child after it started races with the
// hook's first instructions. Instead the child runs PTRACE_TRACEME just
// before execve (SysProcAttr.Ptrace), so the kernel stops it with SIGTRAP
// once the new image is loaded and before its first instruction (before
// even the dynamic loader). We prlimit it there and detach, suppressing the
// SIGTRAP. The ptrace calls must come from the forking thread, which the
// lock above provides. (A re-exec shim, as runc init does, would also work
// but runs a whole Go runtime and nucleusd's package inits per hook.)
func start(hookFD int, argv, env []string, stdin, out uintptr) (int, error) {
	type started struct {
		pid int
		err error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		pid, err := startLocked(hookFD, argv, env, stdin, out)
		ch <- started{pid, err}
	}()
	s := <-ch
	return s.pid, s.err
}

func startLocked(hookFD int, argv, env []string, stdin, out uintptr) (int, error) {
	if err := cloexecFrom(3); err != nil {
		return 0, err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("set no_new_privs: %w", err)
	}
	pid, err := syscall.ForkExec(execPath, argv, &syscall.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []uintptr{stdin, out, out, uintptr(hookFD)},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Ptrace: true},
	})
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err) // includes a failed PTRACE_TRACEME or setpgid
	}
	var ws unix.WaitStatus
	if _, err := wait4(pid, &ws, unix.WALL); err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return 0, fmt.Errorf("wait for the hook's exec stop: %w", err)
	}
	if !ws.Stopped() { // killed before its first instruction; already reaped
		return 0, fmt.Errorf("hook ended before it started: %s", describe(ws))
	}
	if ws.StopSignal() != unix.SIGTRAP {
		err = fmt.Errorf("hook stopped by %v before it started", ws.StopSignal())
	}
	for _, res := range []int{unix.RLIMIT_NOFILE, unix.RLIMIT_NPROC} {
		if err == nil {
			err = unix.Prlimit(pid, res, &unix.Rlimit{Cur: childLimit, Max: childLimit}, nil)
		}
	}
	if err == nil {
		if err = unix.PtraceDetach(pid); err == nil {
			return pid, nil
		}
	}
	_ = unix.Kill(pid, unix.SIGKILL)
	_, _ = wait4(pid, &ws, unix.WALL)
	return 0, fmt.Errorf("limit the hook before it runs: %w", err)
}

// cloexecFrom marks every fd >= lowfd close-on-exec, so that the hook gets
// only its stdio and fd 3. Go opens all its fds with O_CLOEXEC, but fds
// nucleusd inherited without it (a socket from systemd, a stray fd of its
// parent) would otherwise reach every hook; Go's child cannot close them
// between fork and exec. Marking them changes nothing for nucleusd itself.
func cloexecFrom(lowfd int) error {
	if unix.CloseRange(uint(lowfd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	// Before Linux 5.11, or close_range filtered: walk /proc/self/fd.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= lowfd {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
	return nil
}

// wait4 is unix.Wait4 retried on EINTR.
func wait4(pid int, ws *unix.WaitStatus, options int) (int, error) {
	for {
		wpid, err := unix.Wait4(pid, ws, options, nil)
		if !errors.Is(err, unix.EINTR) {
			return wpid, err
		}
	}
}

// describe says how a reaped process ended.
func describe(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}
