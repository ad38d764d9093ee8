package core

import (
	"context"
	"errors"
	"io"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// RunIO connects an attached run to its caller.
type RunIO struct {
	// Stdin, when set, is forwarded to the container (open_stdin); its EOF
	// closes the container's stdin.
	Stdin io.Reader
	// Output receives the container's output as it is logged, in order
	// per stream.
	Output func(stream nucleusv1.LogStream, data []byte) error
	// Signals are forwarded to the container's init process.
	Signals <-chan uint32
	// Started is told the container once it runs.
	Started func(*nucleusv1.Container) error
	// Resize carries terminal sizes (spec.tty).
	Resize <-chan *nucleusv1.TerminalSize
}

// RunAttached creates and starts a container, streams its output until it
// exits and returns its final record. When the caller goes away the
// container keeps running (and an auto_remove one is removed when it
// exits).
func (d *Daemon) RunAttached(ctx context.Context, caller auth.Identity, spec *nucleusv1.ContainerSpec, rio RunIO) (*nucleusv1.Container, error) {
	if rio.Stdin != nil {
		spec = proto.CloneOf(spec)
		spec.OpenStdin = true
	}
	c, err := d.Create(ctx, caller, spec, CreateOptions{Start: true, Attached: true})
	if err != nil {
		return nil, err
	}
	id := c.GetId()
	defer func() {
		// Like `docker run --rm`: once the caller has the exit status, the
		// container is gone. Its exit may have removed the record already
		// (no poststop hooks); its host side waited for this run's end.
		unlock := d.locks.lock(id)
		d.markAttached(id, -1)
		removed := !d.isAttached(id) && d.finalRecord(id) != nil
		unlock()
		if removed {
			d.forgetWatch(id)
			d.cleanups.release(id)
			d.cleanups.wake()
			return
		}
		if rec, err := d.store.GetContainer(id); err == nil && rec.State == stateExited && rec.AutoRemove {
			d.autoRemove(id)
		}
	}()
	if rio.Started != nil {
		if err := rio.Started(c); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if rio.Stdin != nil {
		// A terminal's end is the user's Ctrl-D, never the client's.
		go d.forwardStdin(ctx, id, rio.Stdin, spec.GetTty())
	}
	d.forwardControl(ctx, id, rio.Signals, rio.Resize)
	return d.streamUntilExit(ctx, id, -1, nil, rio.Output)
}

// streamUntilExit follows id's log (the last tail lines first; -1: all of
// it, 0: from now on) into output, one chunk per entry with its newline
// restored, until the container has exited, and returns its final record.
func (d *Daemon) streamUntilExit(ctx context.Context, id string, tail int, positioned func(), output func(stream nucleusv1.LogStream, data []byte) error) (*nucleusv1.Container, error) {
	err := d.logs(ctx, id, LogOptions{Follow: true, Tail: tail, Positioned: positioned}, func(e *nucleusv1.LogEntry) error {
		data := e.GetContent()
		if !e.GetPartial() {
			data = append(data, '\n')
		}
		return output(e.GetStream(), data)
	})
	if err != nil {
		return nil, err
	}
	if err := d.awaitExit(ctx, id, false); err != nil {
		return nil, err
	}
	rec, err := d.lastRecord(id)
	if err != nil {
		return nil, err
	}
	return toAPI(rec), nil
}

func (d *Daemon) forwardStdin(ctx context.Context, id string, in io.Reader, keepOpen bool) {
	w, err := d.sb.AttachStdin(ctx, id, keepOpen)
	if err != nil {
		d.log.Info("attaching stdin", zap.String("id", id), zap.Error(err))
		return
	}
	defer w.Close()
	if _, err := io.Copy(w, in); err != nil && !errors.Is(err, io.ErrClosedPipe) && ctx.Err() == nil {
		d.log.Info("forwarding stdin", zap.String("id", id), zap.Error(err))
	}
}

// CommandExit turns a failure to start a process because of its executable
// into the exit status a shell would report (127 and reason "not-found",
// 126 and "not-executable"); nil for any other error. The message is
// runsc's account of the failure, without the error kind's prefix.
func CommandExit(err error) *nucleusv1.ExitStatus {
	switch runsc.CommandFailure(err) {
	case runsc.ExitNotFound:
		return &nucleusv1.ExitStatus{ExitCode: runsc.ExitNotFound, Reason: ReasonNotFound, Message: "executable not found: " + runsc.CommandFailureDetail(err)}
	case runsc.ExitNotExecutable:
		return &nucleusv1.ExitStatus{ExitCode: runsc.ExitNotExecutable, Reason: ReasonNotExecutable, Message: "executable cannot be run: " + runsc.CommandFailureDetail(err)}
	}
	return nil
}
