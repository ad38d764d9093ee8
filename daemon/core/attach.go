package core

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
)

// AttachIO connects an attachment (docker attach) to its caller.
type AttachIO struct {
	// Stdin, when set, is written to the container's stdin (its terminal
	// for a TTY container); its end closes the container's stdin only
	// when StdinClosed is closed by then (the client asked for it).
	Stdin       io.Reader
	StdinClosed <-chan struct{}
	// Size is the caller's terminal size, applied at once (TTY only).
	Size *nucleusv1.TerminalSize
	// Resize and Signals are forwarded while attached.
	Resize  <-chan *nucleusv1.TerminalSize
	Signals <-chan uint32
	// Attached is told the container once attached; Output receives the
	// output logged from then on.
	Attached func(*nucleusv1.Container) error
	Output   func(stream nucleusv1.LogStream, data []byte) error
}

// Attach connects to a running container's stdio until it exits (its
// final record is returned) or ctx ends (the container keeps running, its
// stdin stays open). One attachment at a time may write stdin: the
// supervisor lends it to one connection.
func (d *Daemon) Attach(ctx context.Context, caller auth.Identity, idOrName string, aio AttachIO) (*nucleusv1.Container, error) {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	id, tty := c.ID, c.Spec.GetTty()
	if c.State != stateRunning {
		return nil, errdefs.FailedPrecondition("container %s is %s; only a running container can be attached", c.Name, stateName(c.State))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// What the caller sends (stdin, signals) may cause output at once: the
	// caller is told it is attached, and its input forwarded, only once
	// the log follower is positioned, so that it sees every byte its own
	// input caused.
	positioned := make(chan struct{})
	var positionOnce sync.Once
	onPositioned := func() {
		positionOnce.Do(func() {
			if aio.Attached != nil {
				if err := aio.Attached(toAPI(c)); err != nil {
					cancel() // the caller is gone
				}
			}
			close(positioned)
		})
	}
	if aio.Stdin != nil {
		if !tty && !c.Spec.GetOpenStdin() {
			return nil, errdefs.FailedPrecondition("container %s has neither a terminal nor open stdin", c.Name)
		}
		w, err := d.sb.AttachStdin(ctx, id, true)
		if err != nil {
			return nil, d.runError("attach", err)
		}
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			defer w.Close()
			// A caller that left before the follower was positioned
			// still has what it sent forwarded (its close_stdin too).
			select {
			case <-positioned:
			case <-ctx.Done():
			}
			if _, err := io.Copy(w, aio.Stdin); err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, net.ErrClosed) {
				d.log.Info("attach: forwarding stdin", zap.String("id", id), zap.Error(err))
			}
			select {
			case <-aio.StdinClosed:
				_ = w.Close() // give stdin back first: closing takes it again
				if err := d.closeStdin(ctx, id); err != nil {
					d.log.Info("attach: closing stdin", zap.String("id", id), zap.Error(err))
				}
			default:
			}
		}()
		// When the caller leaves, what it sent ends with EOF and the copy
		// above ends by itself; but it may be stuck writing to a container
		// that does not read: then closing the connection releases stdin.
		go func() {
			<-ctx.Done()
			select {
			case <-copied:
			case <-time.After(stdinDrainGrace):
				_ = w.Close()
			}
		}()
	}
	if tty && aio.Size != nil {
		if err := d.sb.Resize(ctx, id, TerminalSide(aio.Size.GetRows()), TerminalSide(aio.Size.GetCols())); err != nil {
			d.log.Info("attach: resizing", zap.String("id", id), zap.Error(err))
		}
	}
	if !tty {
		aio.Resize = nil
	}
	go func() {
		select {
		case <-positioned:
			d.forwardControl(ctx, id, aio.Signals, aio.Resize)
		case <-ctx.Done():
		}
	}()
	d.log.Info("attached", zap.String("id", id), zap.Int("uid", caller.UID), zap.Bool("stdin", aio.Stdin != nil))
	return d.streamUntilExit(ctx, id, 0, onPositioned, aio.Output)
}

// stdinDrainGrace is how long an attachment whose caller left may still
// forward what the caller sent before its connection to stdin is closed.
const stdinDrainGrace = time.Second

// forwardControl forwards signals (to the init process) and terminal
// sizes to the container until ctx ends.
func (d *Daemon) forwardControl(ctx context.Context, id string, signals <-chan uint32, resize <-chan *nucleusv1.TerminalSize) {
	if signals == nil && resize == nil {
		return
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig, ok := <-signals:
				if !ok {
					signals = nil
					continue
				}
				if err := d.sb.Kill(ctx, id, unix.Signal(sig), false); err != nil {
					d.log.Info("forwarding a signal", zap.String("id", id), zap.Uint32("signal", sig), zap.Error(err))
				}
			case ts, ok := <-resize:
				if !ok {
					resize = nil
					continue
				}
				if err := d.sb.Resize(ctx, id, TerminalSide(ts.GetRows()), TerminalSide(ts.GetCols())); err != nil {
					d.log.Info("resizing a terminal", zap.String("id", id), zap.Error(err))
				}
			}
		}
	}()
}

// TerminalSide converts a requested terminal side: 0 stays 0 (keep, or
// the default), anything above 4096 becomes 4096.
func TerminalSide(n uint32) uint16 { return uint16(min(n, 4096)) }

// closeStdin closes a container's stdin for good: it borrows stdin from
// the supervisor without keeping it open and hands it back at once (the
// supervisor waits for the previous borrower to let go). The client asked
// for it, so its hang-up right after does not cancel it.
func (d *Daemon) closeStdin(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	w, err := d.sb.AttachStdin(ctx, id, false)
	if err != nil {
		return err
	}
	return w.Close()
}
