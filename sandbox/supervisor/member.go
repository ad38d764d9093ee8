package supervisor

import (
	"context"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/sandbox/runsc"
)

// A pod's member (Spec.Pod) runs in a sandbox that is not this supervisor's
// child: the sandbox belongs to the pod's first container and its
// supervisor. This one learns of its container's exit by asking the
// sandbox (runsc wait, which the sandbox answers again until the container
// is deleted), never reaps or kills the sandbox, and hands the container
// its stdio when it starts: gVisor passes a member its stdio at start, not
// at create.

// member reports whether this supervisor's container is a pod's member.
func (s *supervisor) member() bool { return s.spec.Pod != "" }

// memberWaitRetries bounds the retries of a wait that failed while the
// sandbox still lived (a control connection refused for a moment).
const memberWaitRetries = 20

// holdMemberStdio keeps duplicates of o's files until the member starts
// (the caller of create closes its own).
func (s *supervisor) holdMemberStdio(o runsc.CreateOptions) error {
	var err error
	dup := func(f *os.File) *os.File {
		if f == nil || err != nil {
			return nil
		}
		d, derr := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if derr != nil {
			err = fmt.Errorf("holding the member's %s until its start: %w", f.Name(), derr)
			return nil
		}
		return os.NewFile(uintptr(d), f.Name())
	}
	s.memberIO = runsc.CreateOptions{Stdin: dup(o.Stdin), Stdout: dup(o.Stdout), Stderr: dup(o.Stderr)}
	if err != nil {
		s.releaseMemberStdio()
	}
	return err
}

// releaseMemberStdio closes the stdio held for the member's start.
func (s *supervisor) releaseMemberStdio() {
	for _, f := range []*os.File{s.memberIO.Stdin, s.memberIO.Stdout, s.memberIO.Stderr} {
		if f != nil {
			f.Close()
		}
	}
	s.memberIO = runsc.CreateOptions{}
}

// startMember starts the created member with the stdio held for it.
func (s *supervisor) startMember(ctx context.Context) error {
	defer s.releaseMemberStdio()
	return s.creator.StartWithStdio(ctx, s.spec.ID, s.memberIO)
}

// waitMember asks the sandbox for the member's wait status, then ends the
// supervisor's wait. A sandbox that is gone (the pod's first container
// ended, or the sandbox died) killed the member with it.
func (s *supervisor) waitMember(sandboxPid int) {
	var ws unix.WaitStatus
	for attempt := 0; ; attempt++ {
		st, err := s.creator.WaitStatus(context.Background(), s.spec.ID)
		if err == nil {
			ws = st
			break
		}
		if !exitsWithin(sandboxPid, 0) && attempt < memberWaitRetries {
			s.log.Warn("wait on the pod's sandbox failed; retrying", zap.Error(err))
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.log.Info("the pod's sandbox is gone", zap.Error(err))
		ws = unix.WaitStatus(unix.SIGKILL)
		break
	}
	s.mu.Lock()
	unexplained := s.intent.reason == "" && !s.sentKill
	s.mu.Unlock()
	// A SIGKILL nobody here sent: was it the pod ending? (Only then is the
	// sandbox watched for a moment; a plain exit is reported at once.)
	if unexplained && killedBySIGKILL(ws) && exitsWithin(sandboxPid, 200*time.Millisecond) {
		s.mu.Lock()
		if s.intent.reason == "" {
			s.intent = intent{reason: ReasonKilled, signal: unix.SIGKILL, message: "killed with its pod: the pod's first container ended"}
		}
		s.mu.Unlock()
	}
	s.memberGone(ws)
}

// killedBySIGKILL: a wait status of death by SIGKILL, or runsc wait's
// exit code for it.
func killedBySIGKILL(ws unix.WaitStatus) bool {
	return (ws.Signaled() && ws.Signal() == unix.SIGKILL) || (ws.Exited() && ws.ExitStatus() == 128+int(unix.SIGKILL))
}

// exitsWithin reports whether the pod's sandbox process has exited, or
// does within d: a member killed because its pod ended sees its sandbox go
// right after.
func exitsWithin(sandboxPid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(sandboxPid, 0)
	if err != nil {
		return true // no such process
	}
	defer unix.Close(fd)
	exited, _ := pidfdExited(fd, d)
	return exited
}

// pidfdExited waits up to d for the process behind pidfd fd to exit. A
// zombie has exited (the sandbox is not this process's child: when its own
// supervisor is gone, whoever reaps it may take a while), which a pidfd
// tells and kill(pid, 0) does not.
func pidfdExited(fd int, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(max(time.Until(deadline), 0)/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		return n > 0, err
	}
}

// watchPodWhileCreated ends a member that was created but not started
// when its pod's sandbox ends first: nothing else would tell it (there is
// no process of its own to wait for yet). It stops watching once the
// member has started or ended.
func (s *supervisor) watchPodWhileCreated(sandboxPid int) {
	fd, err := unix.PidfdOpen(sandboxPid, 0)
	if err != nil {
		s.log.Warn("pidfd_open of the pod's sandbox", zap.Int("sandbox_pid", sandboxPid), zap.Error(err))
		return
	}
	defer unix.Close(fd)
	for s.isState(specs.StateCreated) {
		exited, err := pidfdExited(fd, 500*time.Millisecond)
		if err != nil {
			s.log.Warn("poll on the pod's sandbox", zap.Error(err))
			return
		}
		if !exited {
			continue
		}
		s.startMu.Lock() // no start is under way: it would report its own failure
		defer s.startMu.Unlock()
		s.mu.Lock()
		created := s.state == specs.StateCreated
		if created && s.intent.reason == "" {
			s.intent = intent{reason: ReasonKilled, signal: unix.SIGKILL, message: "killed with its pod before it started: the pod's first container ended"}
		}
		s.mu.Unlock()
		if created {
			s.log.Info("the pod's sandbox ended before this member started")
			s.memberGone(unix.WaitStatus(unix.SIGKILL))
		}
		return
	}
}

// isState reports whether the container is in state.
func (s *supervisor) isState(state specs.ContainerState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == state
}

// memberGone ends the supervisor's wait for the member, once: from its
// wait, or for a member that was never started (there is no process to
// wait for) from its kill.
func (s *supervisor) memberGone(ws unix.WaitStatus) {
	s.goneOnce.Do(func() {
		close(s.dead)
		s.ws <- ws
	})
}
