package gvisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/sentry/control"
	"gvisor.dev/gvisor/pkg/sentry/kernel/auth"
	"gvisor.dev/gvisor/runsc/specutils"

	"nucleus.dev/nucleus/sandbox/runsc"
)

// Exec runs p in the running container id and returns its exit code
// (128+n for signal n); see ExecProcess.
func (c *Client) Exec(ctx context.Context, id string, p *specs.Process, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	ex, err := c.ExecProcess(ctx, id, p, runsc.ExecOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	return ex.Code, err
}

// ExecProcess runs p in the running container id, like `runsc exec
// --process`: its argv, env, working directory, user, capabilities and
// no_new_privileges; rlimits are the sandbox's. o.Stdin (nil: /dev/null) is
// copied in, the output copied out; each of o.Signals is sent to the
// process (control.SignalProcess, by its pid in the sandbox, like `runsc
// kill --pid`). It returns how the process ended, the signal included.
// Cancelling ctx kills the process (and its process group) and returns its
// exit with ctx's error. Errors starting it are runsc's own ("failed to
// load ...": see runsc.CommandFailure).
func (c *Client) ExecProcess(ctx context.Context, id string, p *specs.Process, o runsc.ExecOptions) (runsc.ExecExit, error) {
	fail := runsc.ExecExit{Code: -1}
	cont, err := c.load(id)
	if err != nil {
		return fail, err
	}
	caps, err := specutils.Capabilities(c.conf.EnableRaw, p.Capabilities)
	if err != nil {
		return fail, fmt.Errorf("capabilities: %w", err)
	}
	gids := make([]auth.KGID, 0, len(p.User.AdditionalGids))
	for _, g := range p.User.AdditionalGids {
		gids = append(gids, auth.KGID(g))
	}
	var std *stdio
	if o.Terminal != nil {
		std, err = newTerminalStdio(o.Terminal.Size, o.Stdin, o.Stdout)
	} else {
		std, err = newStdio(o.Stdin, o.Stdout, o.Stderr)
	}
	if err != nil {
		return fail, err
	}
	defer std.close()
	var resize <-chan runsc.WinSize
	if o.Terminal != nil {
		resize = o.Terminal.Resize
	}
	args := &control.ExecArgs{
		Argv:             p.Args,
		Envv:             p.Env,
		WorkingDirectory: p.Cwd,
		KUID:             auth.KUID(p.User.UID),
		KGID:             auth.KGID(p.User.GID),
		ExtraKGIDs:       gids,
		Capabilities:     caps,
		NoNewPrivileges:  p.NoNewPrivileges,
		FilePayload:      control.NewFilePayload(map[int]*os.File{0: std.in, 1: std.out, 2: std.err}, nil),
		StdioIsPty:       std.master != nil,
	}
	pid, err := cont.Execute(c.conf, args)
	std.sent() // the sandbox holds its own copies now
	if err != nil {
		return fail, err
	}
	type result struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		ws, err := cont.WaitPID(pid)
		done <- result{ws, err}
	}()
	var r result
wait:
	for {
		select {
		case r = <-done:
			break wait
		case sig := <-o.Signals:
			// An error means it is gone; its exit is on its way.
			_ = cont.SignalProcess(sig, pid)
		case ws := <-resize:
			std.resize(ws)
		case <-ctx.Done():
			// Its process group first: what it started dies with it.
			_ = cont.SignalProcessGroup(unix.SIGKILL, pid)
			_ = cont.SignalProcess(unix.SIGKILL, pid)
			r = <-done
			break wait
		}
	}
	std.wait(outputGrace)
	if r.err != nil {
		return fail, fmt.Errorf("waiting for pid %d in %s: %w", pid, id, r.err)
	}
	ex := runsc.ExecExit{Code: r.ws.ExitStatus()}
	if r.ws.Signaled() {
		ex = runsc.ExecExit{Code: 128 + int(r.ws.Signal()), Signal: r.ws.Signal()}
	}
	if err := ctx.Err(); err != nil {
		return ex, fmt.Errorf("exec in %s: %w", id, err)
	}
	return ex, nil
}

// outputGrace bounds how long Exec waits, after the process exited, for
// its output pipes to close (a background child may hold them), like
// runsc.Runsc's WaitDelay for a runsc exec process.
const outputGrace = 2 * time.Second

// stdio are the pipes an exec'd process gets and the copying around them.
type stdio struct {
	in, out, err *os.File // the process's ends, sent to the sandbox
	ours         []*os.File
	master       *os.File       // a terminal's master (among ours), or nil
	outputs      sync.WaitGroup // the stdout and stderr copies
}

func newStdio(stdin io.Reader, stdout, stderr io.Writer) (*stdio, error) {
	s := &stdio{}
	fail := func(err error) (*stdio, error) {
		s.sent()
		s.close()
		return nil, err
	}
	if stdin == nil {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return fail(err)
		}
		s.in = f
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		s.in, s.ours = r, append(s.ours, w)
		// Not waited for: it ends with its reader, or when the process's
		// side closes (a write then fails).
		go func() {
			_, _ = io.Copy(w, stdin)
			_ = w.Close()
		}()
	}
	for _, dst := range []struct {
		f **os.File
		w io.Writer
	}{{&s.out, stdout}, {&s.err, stderr}} {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		*dst.f, s.ours = w, append(s.ours, r)
		out := dst.w
		if out == nil {
			out = io.Discard
		}
		s.outputs.Add(1)
		go func() {
			defer s.outputs.Done()
			_, _ = io.Copy(out, r)
		}()
	}
	return s, nil
}

// sent closes the process's ends once the sandbox has them (or failed to
// take them): the output copies then end when the process's side closes.
func (s *stdio) sent() {
	closed := map[*os.File]bool{}
	for _, f := range []*os.File{s.in, s.out, s.err} {
		if f != nil && !closed[f] { // a terminal's replica is all three
			closed[f] = true
			_ = f.Close()
		}
	}
}

// wait waits for the output to be copied to the end (the process and
// whatever it left behind closed their side), at most grace; then it stops
// the copies.
func (s *stdio) wait(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		s.outputs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		s.close()
		<-done
	}
}

// close releases our ends; a stdin copy still blocked on its reader is
// left to end with it.
func (s *stdio) close() {
	for _, f := range s.ours {
		_ = f.Close()
	}
}
