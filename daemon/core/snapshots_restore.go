package core

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// MaxRestoreCount bounds the forks of one Restore call.
const MaxRestoreCount = 64

// restoreParallelism is how many forks are restored at once.
const restoreParallelism = 4

// Restore starts count new containers from snapshot idOrName, each created
// from the snapshot's recorded spec (same mounts, limits and hook set, as
// runsc requires) with a new id and name, and restored in place of a start:
// createRuntime and poststart hooks run as for any start. With name set,
// one container is named name, several name-1 ... name-N. If any fork
// fails, the ones already restored are removed and the error returned.
func (d *Daemon) Restore(ctx context.Context, caller auth.Identity, idOrName, name string, count int) (_ []*nucleusv1.Container, err error) {
	begin := time.Now()
	defer func() { d.metrics.ObserveLifecycle("restore", time.Since(begin), err) }()
	if count == 0 {
		count = 1
	}
	if count < 0 || count > MaxRestoreCount {
		return nil, errdefs.InvalidArgument("count %d: restore 1 to %d containers at once", count, MaxRestoreCount)
	}
	r, err := d.lookupSnapshot(caller, idOrName)
	if err != nil {
		return nil, err
	}
	if r.RunscVersion != d.runscVersion {
		return nil, errdefs.FailedPrecondition("snapshot %s was made by runsc %s; this daemon runs runsc %s, and gVisor restores only images of its own version", r.Name, r.RunscVersion, d.runscVersion)
	}
	unlock, err := d.locks.lockCtx(ctx, "snapshot:"+r.ID) // waits for a seal in progress
	if err != nil {
		return nil, fmt.Errorf("restore %s: waiting for its seal: %w", r.Name, err)
	}
	defer unlock()
	if r, err = d.store.GetSnapshot(r.ID); err != nil {
		return nil, err // removed while this restore waited
	}
	if r.SealError != "" {
		return nil, errdefs.FailedPrecondition("snapshot %s cannot be restored: %s", r.Name, r.SealError)
	}
	if !d.snaps.Unchanged(r.ID, d.sealed.get(r.ID)) {
		if err := d.snaps.Verify(r.ID, r.Digest); err != nil {
			return nil, err
		}
	}
	base, err := decodeSnapshotSpec(r)
	if err != nil {
		return nil, err
	}
	base.HookSet = r.HookSet
	opts := CreateOptions{
		Start: true, RestoredFrom: r.ID,
		Restore: &runsc.RestoreOptions{ImagePath: d.snaps.Path(r.ID), Background: d.cfg.Snapshots.BackgroundRestore && r.Compression == runsc.CompressionNone},
	}
	if _, ok := usernsRange(d.cfg.Security, base.GetUserNamespace()); ok {
		// The daemon's range of the source: gVisor restores only into the
		// same mappings, so the forks keep it (the snapshot holds it, see
		// usernsRanges.reserve), granted here, not by the caller.
		opts.UserNamespace, base.UserNamespace = base.UserNamespace, nil
	}
	out := make([]*nucleusv1.Container, count)
	errs := make([]error, count)
	sem := make(chan struct{}, restoreParallelism)
	var wg sync.WaitGroup
	for i := range count {
		spec := proto.CloneOf(base)
		spec.Name = forkName(name, i, count)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = d.Create(ctx, caller, spec, opts)
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			d.removeRestored(caller, out)
			return nil, fmt.Errorf("restoring snapshot %s: %w", r.Name, e)
		}
	}
	for _, c := range out {
		d.publish(nucleusv1.EventType_EVENT_TYPE_RESTORED, &store.Container{ID: c.GetId(), Name: c.GetName(), OwnerUID: c.GetOwnerUid()}, "", 0, map[string]string{"snapshot": r.ID, "snapshot_name": r.Name})
	}
	d.log.Info("snapshot restored", zap.String("snapshot", r.ID), zap.Int("count", count), zap.Duration("took", time.Since(begin)))
	return out, nil
}

func forkName(name string, i, count int) string {
	switch {
	case name == "":
		return ""
	case count == 1:
		return name
	}
	return fmt.Sprintf("%s-%d", name, i+1)
}

// removeRestored removes the forks of a failed Restore that did start.
func (d *Daemon) removeRestored(caller auth.Identity, cs []*nucleusv1.Container) {
	for _, c := range cs {
		if c == nil {
			continue
		}
		if _, err := d.Delete(d.ctx, caller, c.GetId(), true); err != nil {
			d.log.Warn("removing a fork of a failed restore", zap.String("id", c.GetId()), zap.Error(err))
		}
	}
}
