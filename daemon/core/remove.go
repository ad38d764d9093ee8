package core

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// cleanupTimeout bounds one background cleanup round (and the final one at
// Close).
const cleanupTimeout = time.Minute

// autoRemove removes an exited auto_remove container the way `docker run
// --rm` does, but answers first: its poststop hooks run and its record goes
// (its name is free again and Get, List and Wait no longer know it) before
// this returns; the host side — runsc state, supervisor directory, bundle,
// logs — is left to the cleaner goroutine, which takes whatever piled up in
// one round and removes it with a single runsc process. A daemon that dies
// before the cleanup finds the leftovers without a record at its next start
// and removes them then (recovery's orphan cleanup).
func (d *Daemon) autoRemove(id string) {
	unlock := d.locks.lock(id)
	c, err := d.store.GetContainer(id)
	if err != nil {
		unlock()
		if !errors.Is(err, errdefs.ErrNotFound) {
			d.log.Error("auto-remove", zap.String("id", id), zap.Error(err))
		}
		return
	}
	if live(c.State) {
		// Not expected (callers remove exited containers); do it in full.
		unlock()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), cleanupTimeout)
		defer cancel()
		if _, err := d.remove(ctx, id, true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			d.log.Error("auto-remove", zap.String("id", id), zap.Error(err))
		}
		return
	}
	defer unlock()
	d.poststop(c)
	if err := d.dropForCleaner(c, false); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		d.log.Error("auto-remove", zap.String("id", id), zap.Error(err))
	}
}

// dropForCleaner removes the record of c, an exited auto_remove container,
// with evs and its DELETED event in one commit, and leaves its host side
// to the cleaner: at once, or with hold once a run attached to it releases
// it (cleanupQueue.release), its watch kept for that run.
func (d *Daemon) dropForCleaner(c *store.Container, hold bool, evs ...*nucleusv1.Event) error {
	d.cleanups.add(c.ID, hold) // before the record goes: the janitor must know it
	if err := d.dropRecord(c, hold, evs...); err != nil {
		d.cleanups.cancel(c.ID)
		return err
	}
	d.log.Info("container removed (auto_remove); host cleanup follows", zap.String("id", c.ID), zap.String("name", c.Name))
	if !hold {
		d.cleanups.wake()
	}
	return nil
}

// cleaner removes the host side of removed containers in rounds until the
// daemon closes; then it runs a last round so that a clean stop leaves
// nothing behind.
func (d *Daemon) cleaner() {
	defer d.wg.Done()
	for {
		select {
		case <-d.cleanups.woken():
			d.cleanupRound()
		case <-d.ctx.Done():
			d.cleanupRound()
			return
		}
	}
}

func (d *Daemon) cleanupRound() {
	ids := d.cleanups.take()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), cleanupTimeout)
	defer cancel()
	begin := time.Now()
	errs := d.sb.DeleteAll(ctx, ids, sandbox.DeleteOptions{Force: true})
	for _, id := range ids {
		d.detachNetwork(ctx, id)
	}
	for i, err := range errs {
		if err != nil {
			d.log.Error("cleaning up a removed container; the next start of nucleusd retries", zap.String("id", ids[i]), zap.Error(err))
		}
	}
	d.cleanups.done(ids)
	d.log.Debug("cleanup round", zap.Int("containers", len(ids)), zap.Duration("took", time.Since(begin)))
}
