package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/internal/cgroup"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// killWait is how long the supervisor waits for the sandbox to die after
// `runsc kill --all KILL` before it SIGKILLs the sandbox process itself.
const killWait = time.Second

func failedPrecondition(format string, args ...any) error {
	return errdefs.FailedPrecondition(format, args...)
}

// setIntent records why the container is being ended; the first reason
// wins, except that a timeout or an error overrides a plain kill.
func (s *supervisor) setIntent(in intent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.intent.reason == "" || (s.intent.reason == ReasonKilled && in.reason != ReasonKilled) {
		s.intent = in
	}
}

// end kills the container for the given reason and returns at once.
func (s *supervisor) end(in intent) {
	s.setIntent(in)
	go s.killHard()
}

// killHard kills every process of the container and, if the sandbox still
// lives a moment later, the sandbox process itself (through its pidfd, so
// a recycled pid is never hit).
func (s *supervisor) killHard() {
	s.mu.Lock()
	s.sentKill = true
	unstarted := s.state == specs.StateCreated
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.member() && unstarted {
		// A member that never started has no process to kill or wait for.
		s.memberGone(unix.WaitStatus(unix.SIGKILL))
		return
	}
	if err := s.rs.Kill(ctx, s.spec.ID, unix.SIGKILL, runsc.KillOptions{All: true}); err != nil {
		s.log.Warn("runsc kill --all KILL", zap.Error(err))
	}
	select {
	case <-s.dead:
		return
	case <-time.After(killWait):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pidfd >= 0 {
		s.log.Warn("sandbox survived runsc kill; killing it")
		if err := unix.PidfdSendSignal(s.pidfd, unix.SIGKILL, nil, 0); err != nil {
			s.log.Error("pidfd_send_signal", zap.Error(err))
		}
	}
}

// onTimeout enforces the max runtime; it runs even with the daemon down.
func (s *supervisor) onTimeout() {
	s.log.Info("max runtime reached", zap.Duration("timeout", s.spec.Timeout))
	s.setIntent(intent{reason: ReasonTimeout, signal: unix.SIGKILL,
		message: fmt.Sprintf("max runtime %v reached", s.spec.Timeout)})
	s.killHard()
}

// StopSignals returns the signals a stop sends: first, to the init process
// of a running container given a grace period (sig, SIGTERM when 0), and
// then SIGKILL to every process if it has not exited after grace
// (escalate). A container not running, or no grace period, gets SIGKILL
// at once.
func StopSignals(running bool, sig unix.Signal, grace time.Duration) (first unix.Signal, escalate bool) {
	if sig == 0 {
		sig = unix.SIGTERM
	}
	if !running || grace <= 0 || sig == unix.SIGKILL {
		return unix.SIGKILL, false
	}
	return sig, true
}

// stop sends sig (SIGTERM when 0) to the init process, then SIGKILL to all
// after grace, and returns once the exit status is recorded. A stopped
// container stops successfully. The exit's message says which signals
// were sent; StopEscalated that SIGKILL followed the grace period.
func (s *supervisor) stop(ctx context.Context, sig unix.Signal, grace time.Duration) error {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state == specs.StateStopped {
		return nil
	}
	// The first signal goes to a running process given a grace period; a
	// created one, or none, gets SIGKILL at once (StopSignals).
	first, _ := StopSignals(state == specs.StateRunning, sig, grace)
	s.setIntent(intent{reason: ReasonKilled, signal: first, message: "stopped with " + unix.SignalName(first)})
	// The kill sequence runs to the end even if the client goes away.
	go func() {
		if first != unix.SIGKILL {
			kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := s.rs.Kill(kctx, s.spec.ID, first, runsc.KillOptions{})
			cancel()
			if err != nil {
				s.log.Warn("stop: first signal", zap.Error(err))
			}
			select {
			case <-s.dead:
				return
			case <-time.After(grace):
			}
			s.mu.Lock()
			s.escalated = true
			if s.intent.reason == ReasonKilled && s.intent.signal == first {
				s.intent.message = fmt.Sprintf("stopped with %s, then SIGKILL after the %v grace period", unix.SignalName(first), grace)
			}
			s.mu.Unlock()
		}
		s.killHard()
	}()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill signals the container's init process, or all its processes.
func (s *supervisor) kill(ctx context.Context, sig unix.Signal, all bool) error {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state != specs.StateRunning && state != specs.StateCreated {
		return failedPrecondition("container %s is %s", s.spec.ID, state)
	}
	s.mu.Lock()
	if s.intent.signal == 0 {
		s.intent.signal = sig // to attribute a 128+sig exit code
	}
	s.mu.Unlock()
	return s.rs.Kill(ctx, s.spec.ID, sig, runsc.KillOptions{All: all})
}

// finish turns the sandbox's wait status into the exit status, flushes the
// log and records the status durably, then wakes the waiters.
func (s *supervisor) finish(ws unix.WaitStatus) {
	finished := time.Now()
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
	}
	in, memCgroup, oomBefore, startedAt, sentKill := s.intent, s.memCgroup, s.oomBefore, s.startedAt, s.sentKill
	escalated := s.escalated
	s.mu.Unlock()

	st := ExitStatus{StartedAt: startedAt, FinishedAt: finished, StopEscalated: escalated}
	switch {
	case ws == 0xffff:
		st.ExitCode, st.Reason = -1, ReasonError
		st.Message = "the sandbox was not the supervisor's child; its exit status is unknown"
	case ws.Signaled():
		st.Signal = int(ws.Signal())
		st.ExitCode = 128 + st.Signal
	default:
		st.ExitCode = ws.ExitStatus()
	}
	if memCgroup != "" {
		if after, err := cgroup.OOMKills(memCgroup); err == nil && after > oomBefore {
			st.OOMKilled = true
		}
	}
	switch {
	case st.Signal != 0:
	case in.signal > 0 && st.ExitCode == 128+int(in.signal):
		st.Signal = int(in.signal)
	case sentKill && st.ExitCode == 128+int(unix.SIGKILL):
		st.Signal = int(unix.SIGKILL)
	}
	if st.Reason == "" {
		st.Reason, st.Message = reason(st, ws, in)
	}
	if startedAt.IsZero() && st.Reason == ReasonExited {
		st.Reason = ReasonKilled // it died before it was started
	}
	s.log.Info("container exited", zap.Int("exit_code", st.ExitCode), zap.Int("signal", st.Signal),
		zap.Bool("oom_killed", st.OOMKilled), zap.String("reason", st.Reason))
	s.flushOutput()
	s.record(st)
}

// reason names why the container ended, in this order: the supervisor's
// own intent (timeout, error), the OOM killer, a stop or kill, a signal
// from elsewhere, and otherwise a plain exit.
func reason(st ExitStatus, ws unix.WaitStatus, in intent) (string, string) {
	switch {
	case in.reason == ReasonTimeout || in.reason == ReasonError:
		return in.reason, in.message
	case st.OOMKilled:
		return ReasonOOM, "the host OOM killer killed a process of the sandbox (memory cgroup oom_kill count moved)"
	case in.reason == ReasonKilled:
		return ReasonKilled, in.message
	case ws.Signaled():
		return ReasonKilled, fmt.Sprintf("the sandbox was killed by %s", unix.SignalName(ws.Signal()))
	case in.signal > 0 && st.Signal == int(in.signal):
		return ReasonKilled, fmt.Sprintf("killed by %s", unix.SignalName(in.signal))
	}
	return ReasonExited, fmt.Sprintf("exited with code %d", st.ExitCode)
}

// flushOutput drains the output pipes (bounded), then flushes, syncs and
// closes the log, and closes stdin.
func (s *supervisor) flushOutput() {
	deadline := time.Now().Add(drainTimeout)
	for _, c := range s.copiers {
		c.drain(deadline)
	}
	if s.stdin != nil {
		s.stdin.closeAll()
	}
	if s.logw != nil {
		if err := s.logw.Close(); err != nil {
			s.log.Error("closing container log", zap.Error(err))
		}
	}
}

// record publishes the status and wakes everyone waiting, then writes
// exit.json durably; the supervisor exits only after that, so whoever finds
// it gone reads the file. Waiters are answered first: the daemon commits
// the status to its own store (durably) before it tells anyone, so the
// write's two fsyncs need not delay the answer; the status is lost only if
// both processes die within those milliseconds. A failed write (a full
// disk) is retried until it succeeds, however long that takes: the status
// is the one thing the supervisor must not lose, and meanwhile it keeps
// serving it over its socket, to this nucleusd or the next.
func (s *supervisor) record(st ExitStatus) {
	s.mu.Lock()
	s.state, s.exit, s.sandboxPid = specs.StateStopped, &st, 0
	s.mu.Unlock()
	close(s.done)
	pause := exitRetryFirst
	for attempt := 1; ; attempt++ {
		err := WriteExit(s.spec.ExitPath, st)
		if err == nil {
			s.log.Debug("exit status written", zap.String("path", s.spec.ExitPath))
			if attempt > 1 {
				s.log.Info("exit status written after retries", zap.Int("attempts", attempt))
			}
			return
		}
		if errors.Is(err, fs.ErrNotExist) {
			// The container's directory is gone: it was removed, and
			// nobody will read the file.
			s.log.Warn("not writing exit status: the container's directory is gone", zap.Error(err))
			return
		}
		s.log.Error("writing exit status; retrying", zap.Error(err), zap.Int("attempt", attempt))
		time.Sleep(pause)
		pause = min(2*pause, exitRetryMax)
	}
}

// Bounds of the pause between two attempts to write exit.json.
const (
	exitRetryFirst = 100 * time.Millisecond
	exitRetryMax   = 5 * time.Second
)

// recordFailure records a failed create.
func (s *supervisor) recordFailure(err error) {
	s.flushOutput()
	s.record(ExitStatus{ExitCode: -1, Reason: ReasonError, Message: "create: " + err.Error(), FinishedAt: time.Now()})
}
