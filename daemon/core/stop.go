package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

const (
	stateCreated = nucleusv1.ContainerState_CONTAINER_STATE_CREATED
	stateRunning = nucleusv1.ContainerState_CONTAINER_STATE_RUNNING
	statePaused  = nucleusv1.ContainerState_CONTAINER_STATE_PAUSED
	stateExited  = nucleusv1.ContainerState_CONTAINER_STATE_EXITED
)

func live(s nucleusv1.ContainerState) bool {
	return s == stateCreated || s == stateRunning || s == statePaused
}

// Kill sends sig (SIGKILL when 0) to every process of a live container.
func (d *Daemon) Kill(ctx context.Context, caller auth.Identity, idOrName string, sig uint32) error {
	// Under the container's lock, so that the exit this causes is recorded
	// (and published) after the kill.
	c, unlock, err := d.lookupLocked(caller, idOrName)
	if err != nil {
		return err
	}
	defer unlock()
	if sig == 0 {
		sig = uint32(unix.SIGKILL)
	}
	if sig > 64 {
		return errdefs.InvalidArgument("signal %d is not a signal number (1-64)", sig)
	}
	if !live(c.State) {
		return errdefs.FailedPrecondition("container %s is %s, not running", c.Name, stateName(c.State))
	}
	if err := d.sb.Kill(ctx, c.ID, unix.Signal(sig), true); err != nil {
		return err
	}
	d.publish(nucleusv1.EventType_EVENT_TYPE_KILLED, c, "Kill sent "+unix.SignalName(unix.Signal(sig)), 0, signalAttrs(unix.Signal(sig)))
	return nil
}

// signalAttrs are the attributes of a KILLED event: the signal's number.
func signalAttrs(sig unix.Signal) map[string]string {
	return map[string]string{AttrSignal: strconv.Itoa(int(sig))}
}

// Stop sends sig (0: SIGTERM), then SIGKILL after grace, and returns once
// the exit is recorded. Stopping a container that is not running succeeds.
// A KILLED event names the first signal, another one SIGKILL if the grace
// period ran out, then EXITED follows.
func (d *Daemon) Stop(ctx context.Context, caller auth.Identity, idOrName string, sig uint32, grace time.Duration) (_ *nucleusv1.Container, err error) {
	begin := time.Now()
	defer func() { d.metrics.ObserveLifecycle("stop", time.Since(begin), err) }()
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	if grace < 0 {
		return nil, errdefs.InvalidArgument("grace period must not be negative")
	}
	first := unix.Signal(0)
	if sig != 0 {
		if first, err = ValidSignal(sig); err != nil {
			return nil, err
		}
	}
	if !live(c.State) {
		return toAPI(c), nil
	}
	return d.stop(ctx, c, first, grace)
}

func (d *Daemon) stop(ctx context.Context, c *store.Container, sig unix.Signal, grace time.Duration) (*nucleusv1.Container, error) {
	if c.State == statePaused {
		_ = d.sb.Resume(ctx, c.ID) // a frozen sandbox cannot handle SIGTERM
	}
	// Published before the signal goes, so that it precedes the EXITED
	// event the signal causes.
	first, escalate := supervisor.StopSignals(c.State != stateCreated, sig, grace)
	msg := "Stop sent " + unix.SignalName(first)
	if escalate {
		msg += fmt.Sprintf("; SIGKILL follows if it still runs after %v", grace)
	}
	d.publish(nucleusv1.EventType_EVENT_TYPE_KILLED, c, msg, 0, signalAttrs(first))
	if _, err := d.sb.StopWith(ctx, c.ID, sig, grace); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	if err := d.awaitExit(ctx, c.ID, true); err != nil {
		return nil, err
	}
	c, err := d.store.GetContainer(c.ID)
	if err != nil {
		return nil, err
	}
	return toAPI(c), nil
}

// awaitExit waits until the watcher recorded id's exit. With stuckErr it
// also returns when recording the exit failed (the watcher keeps
// retrying): the container has exited but nothing may say so yet.
func (d *Daemon) awaitExit(ctx context.Context, id string, stuckErr bool) error {
	d.mu.Lock()
	w := d.exited[id]
	d.mu.Unlock()
	if w == nil {
		// Nothing watches it (e.g. its sandbox vanished): record it now.
		ex, err := d.sb.Wait(ctx, id)
		if err != nil {
			return err
		}
		return d.onExit(id, ex)
	}
	var stuck <-chan struct{}
	if stuckErr {
		stuck = w.stuck
	}
	select {
	case <-w.done:
		return nil
	case <-stuck:
		d.mu.Lock()
		err := w.stuckErr
		d.mu.Unlock()
		return fmt.Errorf("container %s exited, but its exit could not be recorded yet (nucleusd keeps trying; wait reports it once it is): %w", id, err)
	case <-ctx.Done():
		return ctx.Err()
	case <-d.ctx.Done():
		return errdefs.Unavailable("nucleusd is shutting down")
	}
}

// Wait blocks until the container has exited and returns its exit status.
func (d *Daemon) Wait(ctx context.Context, caller auth.Identity, idOrName string) (*store.Container, error) {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	if live(c.State) || c.State == nucleusv1.ContainerState_CONTAINER_STATE_CREATING {
		// Wait blocks while an exit cannot be recorded: it answers with
		// the exit status, never with a record that does not have one.
		if err := d.awaitExit(ctx, c.ID, false); err != nil {
			return nil, err
		}
		// Removed by its exit, a run still attached to it has its last
		// record, which answers this Wait too.
		if c, err = d.lastRecord(c.ID); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				return nil, errdefs.NotFound("container %s exited and was removed (auto_remove)", idOrName)
			}
			return nil, err
		}
		if c.State != stateExited {
			return nil, errdefs.Unavailable("container %s has no recorded exit yet", idOrName)
		}
	}
	return c, nil
}

// Delete removes a container and everything it left on the host. A live
// container needs force.
func (d *Daemon) Delete(ctx context.Context, caller auth.Identity, idOrName string, force bool) (*nucleusv1.Container, error) {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	if (c.State == stateRunning || c.State == statePaused) && !force {
		return nil, errdefs.FailedPrecondition("container %s is %s: stop it first or delete with force", c.Name, stateName(c.State))
	}
	if c.Spec.GetPod() == "" {
		members, err := d.members(c.ID, false)
		if err != nil {
			return nil, err
		}
		if len(members) > 0 {
			return nil, errdefs.FailedPrecondition("container %s is the first container of a pod whose members %s have not exited: remove them first (stopping it ends them)", c.Name, strings.Join(members, ", "))
		}
	}
	return d.remove(context.WithoutCancel(ctx), c.ID, force)
}

func (d *Daemon) remove(ctx context.Context, id string, force bool) (*nucleusv1.Container, error) {
	c, err := d.store.GetContainer(id)
	if err != nil {
		return nil, err
	}
	if live(c.State) {
		if _, err := d.stop(ctx, c, 0, 0); err != nil {
			return nil, err
		}
	}
	unlock := d.locks.lock(id)
	defer unlock()
	if c, err = d.store.GetContainer(id); err != nil {
		return nil, err
	}
	d.poststop(c)
	if err := d.sb.Delete(ctx, id, sandbox.DeleteOptions{Force: force}); err != nil {
		return nil, err
	}
	if c.IPAddress != "" {
		d.detachNetwork(ctx, id)
	}
	if err := d.dropRecord(c, false); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	c.State = nucleusv1.ContainerState_CONTAINER_STATE_REMOVED
	d.log.Info("container removed", zap.String("id", id), zap.String("name", c.Name))
	return toAPI(c), nil
}

// dropRecord deletes c's record with evs and then its DELETED event in one
// commit and, once the record is gone (NotFound included), forgets its
// watch unless keepWatch (a run attached to it still needs it).
func (d *Daemon) dropRecord(c *store.Container, keepWatch bool, evs ...*nucleusv1.Event) error {
	evs = append(evs, d.event(nucleusv1.EventType_EVENT_TYPE_DELETED, c, "", 0, nil))
	err := d.store.DeleteContainer(c.ID, evs...)
	if err == nil {
		d.events.notify(evs...)
	}
	if !keepWatch && (err == nil || errors.Is(err, errdefs.ErrNotFound)) {
		d.forgetWatch(c.ID)
	}
	return err
}
