package runsc

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// ExecOptions are the stdio of Exec (nil means /dev/null) and the signals
// for its process.
type ExecOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals, when set, carries signals for the process: each is sent to
	// it (by its pid inside the sandbox, not to its process group) while it
	// runs. One that arrives before it started waits for the start.
	Signals <-chan unix.Signal
	// Terminal, when set, runs the process on a pseudo-terminal (stdin,
	// stdout and stderr are its replica; its output goes to Stdout). Only
	// the in-process exec (sandbox/gvisor) supports it.
	Terminal *Terminal
}

// Terminal is an exec's pseudo-terminal: its size at start, and sizes to
// resize it to as they come.
type Terminal struct {
	Size   WinSize
	Resize <-chan WinSize
}

// WinSize is a terminal size in character cells; zero values mean 24x80.
type WinSize struct{ Rows, Cols uint16 }

// ExecExit is how an exec'd process ended.
type ExecExit struct {
	// Code is the exit code; 128+Signal when a signal ended it.
	Code int
	// Signal is the signal that ended the process; 0 when it exited (or
	// when that cannot be told: runsc exec reports a signal as 128+n, so
	// there a signal is named only when it is one this side sent).
	Signal unix.Signal
}

// SignalExit returns the exit of a process whose exit code is code, given
// the signals sent to it: a 128+n code is taken for signal n when n was
// among them (an exit code cannot otherwise be told from a signal).
func SignalExit(code int, sent []unix.Signal) ExecExit {
	for _, s := range sent {
		if s > 0 && code == 128+int(s) {
			return ExecExit{Code: code, Signal: s}
		}
	}
	return ExecExit{Code: code}
}

// execKillTimeout bounds the runsc kill run when an exec is cancelled.
const execKillTimeout = 5 * time.Second

// Exec runs p as an extra process in the running container and returns its
// exit code (128+signal when signalled); see ExecProcess.
func (r *Runsc) Exec(ctx context.Context, id string, p *specs.Process, o ExecOptions) (int, error) {
	ex, err := r.ExecProcess(ctx, id, p, o)
	return ex.Code, err
}

// ExecProcess runs p as an extra process in the running container and
// returns how it ended. The process spec reaches runsc through a pipe
// (--process=/proc/self/fd/4), so no file holds its env. o.Signals are
// delivered with `runsc kill --pid`.
//
// Cancelling ctx kills the exec'd process's group inside the sandbox (killing
// `runsc exec` alone would leave it running), then runsc exec returns.
// Exec'd processes die with the sandbox. A Stdin reader that never returns
// is abandoned shortly after the process exits.
func (r *Runsc) ExecProcess(ctx context.Context, id string, p *specs.Process, o ExecOptions) (ExecExit, error) {
	fail := ExecExit{Code: -1}
	if p == nil || len(p.Args) == 0 {
		return fail, invalid("runsc exec %s: no process args", id)
	}
	if o.Terminal != nil {
		return fail, errdefs.FailedPrecondition("exec with a terminal needs the in-process exec (a runsc built from the gVisor version nucleusd links)")
	}
	spec, err := json.Marshal(p)
	if err != nil {
		return fail, invalid("runsc exec %s: encoding process: %v", id, err)
	}
	elog, err := newErrorLog()
	if err != nil {
		return fail, err
	}
	procR, procW, err := os.Pipe()
	if err != nil {
		elog.message()
		return fail, err
	}
	pidR, pidW, err := os.Pipe()
	if err != nil {
		elog.message()
		procR.Close()
		procW.Close()
		return fail, err
	}
	defer pidR.Close()
	pid := newGuestPid(pidR)

	inv := invocation{
		verb: "exec", id: id,
		args: []string{"--process=/proc/self/fd/4", "--internal-pid-file=/proc/self/fd/5", id},
		call: map[string]string{"log-fd": "3"},
		setup: func(cmd *exec.Cmd) {
			cmd.ExtraFiles = []*os.File{elog.w, procR, pidW}
			cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
		},
	}
	// The command itself must outlive ctx: on cancel we kill the guest and
	// let runsc exec return on its own (Cancel below), not SIGKILL it.
	cmd, err := r.command(context.WithoutCancel(ctx), inv)
	if err != nil {
		elog.message()
		procR.Close()
		procW.Close()
		pidW.Close()
		return fail, err
	}
	started := r.startExec(cmd)
	procR.Close()
	pidW.Close()
	if started != nil {
		procW.Close()
		elog.message()
		return fail, r.newError(ctx, inv, cmd, started, "")
	}
	go func() {
		_, _ = procW.Write(spec)
		procW.Close()
	}()

	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if r.Tracker != nil {
			r.Tracker.Done(cmd)
		}
		waited <- err
	}()
	var waitErr error
	var sent []unix.Signal
	signals := o.Signals
wait:
	for {
		select {
		case waitErr = <-waited:
			break wait
		case sig := <-signals:
			if p, ok := pid.wait(execKillTimeout); ok {
				kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), execKillTimeout)
				if err := r.Kill(kctx, id, sig, KillOptions{Pid: p}); err == nil {
					sent = append(sent, sig)
				}
				cancel()
			}
		case <-ctx.Done():
			r.killGuest(id, pid, cmd)
			sent = append(sent, unix.SIGKILL)
			waitErr = <-waited
			break wait
		}
	}
	msg := elog.message()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	switch {
	case msg != "":
		// runsc itself failed (its errors exit 128 too; the log tells).
		return fail, r.newError(ctx, inv, cmd, waitErr, msg)
	case ctx.Err() != nil:
		return SignalExit(code, sent), r.newError(ctx, inv, cmd, ctx.Err(), "")
	case waitErr != nil && code < 0:
		return fail, r.newError(ctx, inv, cmd, waitErr, "")
	}
	return SignalExit(code, sent), nil
}

func (r *Runsc) startExec(cmd *exec.Cmd) error {
	if r.Tracker != nil {
		return r.Tracker.Start(cmd)
	}
	return cmd.Start()
}

// killGuest kills the exec'd process group inside the sandbox, then the
// process itself, and finally runsc exec if it still has not returned.
func (r *Runsc) killGuest(id string, pid *guestPid, cmd *exec.Cmd) {
	ctx, cancel := context.WithTimeout(context.Background(), execKillTimeout)
	defer cancel()
	if p, ok := pid.wait(2 * time.Second); ok {
		_ = r.Kill(ctx, id, unix.SIGKILL, KillOptions{Pgid: p})
		_ = r.Kill(ctx, id, unix.SIGKILL, KillOptions{Pid: p})
		timer := time.NewTimer(2 * time.Second)
		defer timer.Stop()
		select {
		case <-pid.exited:
			return
		case <-timer.C:
		}
	}
	_ = cmd.Process.Kill()
}

// guestPid reads the pid runsc exec writes to --internal-pid-file.
type guestPid struct {
	mu     sync.Mutex
	pid    int
	known  chan struct{} // closed when pid is set
	exited chan struct{} // closed at EOF: runsc exec is gone
}

func newGuestPid(r io.Reader) *guestPid {
	g := &guestPid{known: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(g.exited)
		var buf []byte
		chunk := make([]byte, 32)
		for {
			n, err := r.Read(chunk)
			buf = append(buf, chunk[:n]...)
			if p, perr := strconv.Atoi(strings.TrimSpace(string(buf))); perr == nil && p > 0 {
				g.mu.Lock()
				if g.pid == 0 {
					g.pid = p
					close(g.known)
				}
				g.mu.Unlock()
			}
			if err != nil || len(buf) > 64 {
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
	}()
	return g
}

// wait returns the pid once known, or false after d or when runsc exec
// exits first.
func (g *guestPid) wait(d time.Duration) (int, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-g.known:
	case <-g.exited:
	case <-timer.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pid, g.pid > 0
}
