package core

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
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
	d.publish(nucleusv1.EventType_EVENT_TYPE_KILLED, c, unix.SignalName(unix.Signal(sig)), 0, map[string]string{"signal": unix.SignalName(unix.Signal(sig))})
	return nil
}

// Stop sends SIGTERM, then SIGKILL after grace, and returns once the exit
// is recorded. Stopping a container that is not running succeeds.
func (d *Daemon) Stop(ctx context.Context, caller auth.Identity, idOrName string, grace time.Duration) (_ *nucleusv1.Container, err error) {
	begin := time.Now()
	defer func() { d.metrics.ObserveLifecycle("stop", time.Since(begin), err) }()
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	if grace < 0 {
		return nil, errdefs.InvalidArgument("grace period must not be negative")
	}
	if !live(c.State) {
		return toAPI(c), nil
	}
	return d.stop(ctx, c, grace)
}

func (d *Daemon) stop(ctx context.Context, c *store.Container, grace time.Duration) (*nucleusv1.Container, error) {
	if c.State == statePaused {
		_ = d.sb.Resume(ctx, c.ID) // a frozen sandbox cannot handle SIGTERM
	}
	if _, err := d.sb.Stop(ctx, c.ID, grace); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	if err := d.awaitExit(ctx, c.ID); err != nil {
		return nil, err
	}
	c, err := d.store.GetContainer(c.ID)
	if err != nil {
		return nil, err
	}
	return toAPI(c), nil
}

// awaitExit waits until the watcher recorded id's exit.
func (d *Daemon) awaitExit(ctx context.Context, id string) error {
	ch := d.exitedChan(id)
	if ch == nil {
		// Nothing watches it (e.g. its sandbox vanished): record it now.
		ex, err := d.sb.Wait(ctx, id)
		if err != nil {
			return err
		}
		d.onExit(id, ex)
		return nil
	}
	select {
	case <-ch:
		return nil
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
		if err := d.awaitExit(ctx, c.ID); err != nil {
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
	return d.remove(context.WithoutCancel(ctx), c.ID, force)
}

func (d *Daemon) remove(ctx context.Context, id string, force bool) (*nucleusv1.Container, error) {
	c, err := d.store.GetContainer(id)
	if err != nil {
		return nil, err
	}
	if live(c.State) {
		if _, err := d.stop(ctx, c, 0); err != nil {
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
