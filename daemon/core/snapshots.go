package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protojson"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/identifiers"
	"nucleus.dev/nucleus/sandbox"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/snapshots"
)

// openSnapshots opens the snapshot directory, removing what a crash left
// (unfinished checkpoints, directories without a record).
func (d *Daemon) openSnapshots() error {
	dir, err := snapshots.Open(d.rootDir, func(id string) bool {
		_, err := d.store.GetSnapshot(id)
		return err == nil
	})
	if err != nil {
		return err
	}
	d.snaps = dir
	if d.bootID, err = readBootID(); err != nil {
		return err
	}
	return d.resumeSeals()
}

func (d *Daemon) snapshotLimits() snapshots.Limits {
	s := d.cfg.Snapshots
	return snapshots.Limits{MaxBytes: int64(s.MaxBytes), MaxBytesPerUID: int64(s.MaxBytesPerUID), MaxTotalBytes: int64(s.MaxTotalBytes)}
}

// checkSnapshotLimits checks a new snapshot of size bytes for owner.
func (d *Daemon) checkSnapshotLimits(owner uint32, size int64) error {
	recs, err := d.store.ListSnapshots()
	if err != nil {
		return err
	}
	ownerBytes, total := snapshots.Usage(recs, owner)
	return d.snapshotLimits().Check(size, ownerBytes, total)
}

// CheckpointOptions are a checkpoint's choices.
type CheckpointOptions struct {
	// Name of the new snapshot; empty: the first 12 characters of its id.
	Name string
	// LeaveRunning keeps the container running after the checkpoint.
	LeaveRunning bool
	// Sync answers only once the snapshot is sealed. Without LeaveRunning
	// the checkpoint always waits for the seal.
	Sync bool
}

// Checkpoint saves the running container idOrName to a new snapshot. The
// image is written with the container left running; unless LeaveRunning,
// the snapshot is then sealed and the container killed (its memory
// freed), so a snapshot refused for its size leaves the container as it
// was. With LeaveRunning and without Sync the answer comes before the
// seal, which runs in the background (see sealInBackground).
func (d *Daemon) Checkpoint(ctx context.Context, caller auth.Identity, idOrName string, o CheckpointOptions) (_ *nucleusv1.Snapshot, err error) {
	begin := time.Now()
	defer func() { d.metrics.ObserveLifecycle("checkpoint", time.Since(begin), err) }()
	id, err := sandbox.NewID()
	if err != nil {
		return nil, fmt.Errorf("generating an id: %w", err)
	}
	name := o.Name
	if name == "" {
		name = id[:12]
	} else if err := identifiers.ValidateContainerName(name); err != nil {
		return nil, fmt.Errorf("snapshot %w", err)
	}
	c, unlock, err := d.lookupLocked(caller, idOrName)
	if err != nil {
		return nil, err
	}
	rec, err := d.checkpointLocked(ctx, c, id, name, o)
	unlock()
	if err != nil {
		return nil, err
	}
	d.publish(nucleusv1.EventType_EVENT_TYPE_CHECKPOINTED, c, "", 0, map[string]string{"snapshot": id, "snapshot_name": name})
	if !o.LeaveRunning {
		if _, err := d.Stop(d.ctx, caller, c.ID, uint32(unix.SIGKILL), 0); err != nil {
			d.log.Warn("stopping a checkpointed container", zap.String("id", c.ID), zap.Error(err))
		}
	}
	d.log.Info("container checkpointed", zap.String("id", c.ID), zap.String("snapshot", id),
		zap.Int64("bytes", rec.SizeBytes), zap.Bool("sealed", !rec.Sealing), zap.Duration("took", time.Since(begin)))
	return snapshotToAPI(rec)
}

// checkpointLocked writes, checks and commits the snapshot of c, whose lock
// the caller holds, and seals it (now, or in the background). On an error
// before the record is committed nothing is kept.
func (d *Daemon) checkpointLocked(ctx context.Context, c *store.Container, id, name string, o CheckpointOptions) (*snapshots.Record, error) {
	if err := d.refuseForPod(c, "checkpoint", true); err != nil {
		return nil, err
	}
	if c.State != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		return nil, errdefs.FailedPrecondition("container %s is %s; only a running container can be checkpointed", c.Name, stateName(c.State))
	}
	n := c.Spec.GetNetwork()
	if ns := c.Spec.GetNetworkNamespace(); ns != "" {
		n = "ns:" + ns // a joined namespace is network too
	} else if n == "" {
		n = d.cfg.Runsc.Network // what create gave it
	}
	if n != config.NetworkNone {
		return nil, errdefs.FailedPrecondition("container %s has network %q; only network none can be checkpointed (a restored sandbox cannot take its network state along)", c.Name, n)
	}
	if len(c.Spec.GetSecrets()) > 0 {
		return nil, errdefs.FailedPrecondition("container %s has secrets; it cannot be checkpointed: the image would hold the secrets on disk and a restore could not re-stage them", c.Name)
	}
	if err := d.checkSnapshotLimits(c.OwnerUID, 0); err != nil {
		return nil, err
	}
	spec, err := protojson.Marshal(store.StripSecrets(c.Spec))
	if err != nil {
		return nil, fmt.Errorf("encoding the spec: %w", err)
	}
	p, err := d.snaps.Begin(id)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			if err := p.Abort(); err != nil {
				d.log.Error("removing an unfinished snapshot", zap.String("snapshot", id), zap.Error(err))
			}
		}
	}()
	cctx := context.WithoutCancel(ctx)
	err = d.sb.Checkpoint(cctx, c.RunscID, runsc.CheckpointOptions{
		ImagePath: p.Path(), LeaveRunning: true, Compression: d.cfg.Snapshots.Compression,
		ExcludeZeroPages: d.cfg.Snapshots.ExcludeZeroPages,
	})
	if err != nil {
		return nil, d.runError("checkpoint", err)
	}
	size, err := p.Size()
	if err != nil {
		return nil, fmt.Errorf("measuring snapshot %s: %w", id, err)
	}
	if err := d.checkSnapshotLimits(c.OwnerUID, size); err != nil {
		return nil, err
	}
	rec := &snapshots.Record{
		ID: id, Name: name, OwnerUID: c.OwnerUID, SourceID: c.ID, SourceName: c.Name, Spec: spec,
		HookSet: c.HookSet, SizeBytes: size, CreatedAt: time.Now().UTC(), RunscVersion: d.runscVersion,
		Compression: d.cfg.Snapshots.Compression, LeftRunning: o.LeaveRunning,
		Sealing: true, BootID: d.bootID,
	}
	// Held until the seal ends: a restore or a removal waits for it.
	unlockSnap := d.locks.lock("snapshot:" + id)
	if err := p.CommitUnsealed(); err != nil {
		unlockSnap()
		return nil, err
	}
	committed = true
	if err := d.store.PutSnapshot(rec); err != nil {
		if rerr := d.snaps.Remove(id); rerr != nil {
			d.log.Error("removing a snapshot without record", zap.String("snapshot", id), zap.Error(rerr))
		}
		unlockSnap()
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			return nil, errdefs.AlreadyExists("you have a snapshot named %q", name)
		}
		return nil, err
	}
	if o.Sync || !o.LeaveRunning {
		defer unlockSnap()
		if err := d.seal(rec); err != nil {
			return nil, err
		}
		return rec, nil
	}
	answered := *rec
	d.sealInBackground(rec, unlockSnap)
	return &answered, nil
}
