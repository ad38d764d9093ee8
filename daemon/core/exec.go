package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// Exit reasons an exec (or a container's process that could not start)
// ends with, besides the supervisor's (exited, killed, timeout, oom,
// error, lost).
const (
	ReasonExited        = "exited"
	ReasonKilled        = "killed"
	ReasonTimeout       = "timeout"
	ReasonNotFound      = "not-found"
	ReasonNotExecutable = "not-executable"
)

// maxSignal is the highest signal number (SIGRTMAX).
const maxSignal = 64

// ExecRequest is an extra process to run in a live container.
type ExecRequest struct {
	Args []string
	Env  []string
	User *nucleusv1.User
	Cwd  string
}

func (r ExecRequest) spec() sandbox.ExecSpec {
	e := sandbox.ExecSpec{Args: r.Args, Env: r.Env, Cwd: r.Cwd}
	if u := r.User; u != nil {
		e.User = &specs.User{UID: u.GetUid(), GID: u.GetGid(), AdditionalGids: u.GetAdditionalGids()}
	}
	return e
}

// ExecIO are an exec's streams (nil: /dev/null), the signals for it and
// its time limit.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals carries signals for the process; each is delivered to it
	// (by its pid in the sandbox). Validate them with ValidSignal.
	Signals <-chan unix.Signal
	// Timeout, when positive, kills the process (SIGKILL to it and its
	// process group) after this long; the exit then has reason "timeout".
	Timeout time.Duration
	// Terminal, when set, runs the process on a pseudo-terminal; its
	// output (stdout and stderr together) goes to Stdout.
	Terminal *sandbox.Terminal
	// Started, when set, is called with the exec's id once the container
	// was found running, before the process starts; an error from it
	// ends the exec before it starts.
	Started func(execID string) error
}

// ValidSignal checks a signal number from a request.
func ValidSignal(sig uint32) (unix.Signal, error) {
	if sig < 1 || sig > maxSignal {
		return 0, errdefs.InvalidArgument("signal %d is not a signal number (1-%d)", sig, maxSignal)
	}
	return unix.Signal(sig), nil
}

// Exec runs r in a running container with o's streams and returns how it
// ended: its exit code, the signal that ended it, and why ("exited",
// "killed" by a signal delivered to it, "timeout", or "not-found" /
// "not-executable" when its executable could not be run). Cancelling ctx
// kills it (SIGKILL to it and its process group) and returns ctx's error.
func (d *Daemon) Exec(ctx context.Context, caller auth.Identity, idOrName string, r ExecRequest, o ExecIO) (*nucleusv1.ExitStatus, error) {
	if o.Timeout < 0 {
		return nil, errdefs.InvalidArgument("timeout must not be negative")
	}
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	if c.State != stateRunning {
		return nil, errdefs.FailedPrecondition("container %s is %s; exec needs a running container", c.Name, stateName(c.State))
	}
	execID := newExecID()
	if o.Started != nil {
		if err := o.Started(execID); err != nil {
			return nil, err
		}
	}
	ectx := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ectx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	ex, err := d.sb.ExecProcess(ectx, c.ID, r.spec(), sandbox.ExecIO{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Signals: o.Signals, Terminal: o.Terminal})
	timedOut := err != nil && ctx.Err() == nil && errors.Is(ectx.Err(), context.DeadlineExceeded)
	d.log.Debug("exec ended", zap.String("id", c.ID), zap.String("exec_id", execID), zap.Strings("args", r.Args),
		zap.Int("exit_code", ex.Code), zap.Int("signal", int(ex.Signal)), zap.Bool("timed_out", timedOut), zap.Error(err))
	if st := CommandExit(err); st != nil {
		return st, nil
	}
	if err != nil && !timedOut {
		return nil, err
	}
	return execExit(ex, timedOut, o.Timeout), nil
}

// execExit describes how an exec'd process ended.
func execExit(ex sandbox.ExecExit, timedOut bool, timeout time.Duration) *nucleusv1.ExitStatus {
	st := &nucleusv1.ExitStatus{ExitCode: int32(ex.Code), Signal: int32(ex.Signal)}
	switch {
	case timedOut:
		st.Reason = ReasonTimeout
		st.Message = fmt.Sprintf("killed by SIGKILL at its %v timeout", timeout)
		if ex.Signal == 0 { // it ended on its own as the timeout came
			st.Message = fmt.Sprintf("its %v timeout came as it exited with code %d", timeout, ex.Code)
		}
	case ex.Signal != 0:
		st.Reason, st.Message = ReasonKilled, "killed by "+unix.SignalName(ex.Signal)
	default:
		st.Reason, st.Message = ReasonExited, fmt.Sprintf("exited with code %d", ex.Code)
	}
	return st
}

// newExecID returns a random id for an exec (16 hex characters), by which
// the daemon's log names it.
func newExecID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
