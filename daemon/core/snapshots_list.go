package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/snapshots"
)

func snapshotVisible(caller auth.Identity, r *snapshots.Record) bool {
	return caller.Admin || r.OwnerUID == uint32(caller.UID)
}

// lookupSnapshot finds idOrName among the snapshots caller may see: the
// exact id, else the one id starting with it (4+ hex digits), else a name.
// Another owner's snapshot is NotFound, exactly like a missing one.
func (d *Daemon) lookupSnapshot(caller auth.Identity, idOrName string) (*snapshots.Record, error) {
	if idOrName == "" {
		return nil, errdefs.InvalidArgument("a snapshot id or name is required")
	}
	recs, err := d.visibleSnapshots(caller)
	if err != nil {
		return nil, err
	}
	var byPrefix, byName []*snapshots.Record
	for _, r := range recs {
		switch {
		case r.ID == idOrName:
			return r, nil
		case isIDPrefix(idOrName) && strings.HasPrefix(r.ID, idOrName):
			byPrefix = append(byPrefix, r)
		case r.Name == idOrName:
			byName = append(byName, r)
		}
	}
	for _, found := range [][]*snapshots.Record{byPrefix, byName} {
		switch {
		case len(found) == 1:
			return found[0], nil
		case len(found) > 1:
			return nil, errdefs.InvalidArgument("%q names %d snapshots; give the id", idOrName, len(found))
		}
	}
	return nil, errdefs.NotFound("snapshot %q not found", idOrName)
}

func (d *Daemon) visibleSnapshots(caller auth.Identity) ([]*snapshots.Record, error) {
	all, err := d.store.ListSnapshots()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if snapshotVisible(caller, r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// ListSnapshots returns the snapshots caller may see, oldest first.
func (d *Daemon) ListSnapshots(caller auth.Identity) ([]*nucleusv1.Snapshot, error) {
	recs, err := d.visibleSnapshots(caller)
	if err != nil {
		return nil, err
	}
	out := make([]*nucleusv1.Snapshot, 0, len(recs))
	for _, r := range recs {
		s, err := snapshotToAPI(r)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// GetSnapshot returns one snapshot caller may see.
func (d *Daemon) GetSnapshot(caller auth.Identity, idOrName string) (*nucleusv1.Snapshot, error) {
	r, err := d.lookupSnapshot(caller, idOrName)
	if err != nil {
		return nil, err
	}
	return snapshotToAPI(r)
}

// RemoveSnapshot deletes the record, then the files (a crash between
// leaves a directory without record, which the next start removes).
func (d *Daemon) RemoveSnapshot(ctx context.Context, caller auth.Identity, idOrName string) error {
	r, err := d.lookupSnapshot(caller, idOrName)
	if err != nil {
		return err
	}
	unlock, err := d.locks.lockCtx(ctx, "snapshot:"+r.ID) // not while a restore verifies it, nor while it is sealed
	if err != nil {
		return fmt.Errorf("remove snapshot %s: waiting for its seal or restore: %w", r.Name, err)
	}
	defer unlock()
	d.sealed.forget(r.ID)
	if err := d.store.DeleteSnapshot(r.ID); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if err := d.snaps.Remove(r.ID); err != nil {
		return err
	}
	d.publish(nucleusv1.EventType_EVENT_TYPE_SNAPSHOT_REMOVED, nil, "", 0, map[string]string{
		"snapshot": r.ID, "snapshot_name": r.Name, ownerAttr: strconv.FormatUint(uint64(r.OwnerUID), 10),
	})
	return nil
}

func snapshotToAPI(r *snapshots.Record) (*nucleusv1.Snapshot, error) {
	spec, err := decodeSnapshotSpec(r)
	if err != nil {
		return nil, err
	}
	return &nucleusv1.Snapshot{
		Id: r.ID, Name: r.Name, OwnerUid: r.OwnerUID, SourceId: r.SourceID, SourceName: r.SourceName,
		Spec: spec, SizeBytes: r.SizeBytes, CreatedAt: timestamppb.New(r.CreatedAt),
		RunscVersion: r.RunscVersion, Digest: r.Digest, Compression: r.Compression, LeftRunning: r.LeftRunning,
		Sealing: r.Sealing, SealError: r.SealError,
	}, nil
}

func decodeSnapshotSpec(r *snapshots.Record) (*nucleusv1.ContainerSpec, error) {
	spec := &nucleusv1.ContainerSpec{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(r.Spec, spec); err != nil {
		return nil, errdefs.FailedPrecondition("snapshot %s: decoding its spec: %v", r.ID, err)
	}
	return store.StripSecrets(spec), nil
}

// snapshotRanges marks in used the daemon user namespace ranges that
// snapshots hold: a restore gets its source's range back, so no other
// container may get it while the snapshot exists.
func snapshotRanges(st *store.Store, sec config.SecurityConfig, used map[uint32]bool) error {
	recs, err := st.ListSnapshots()
	if err != nil {
		return err
	}
	for _, r := range recs {
		spec, err := decodeSnapshotSpec(r)
		if err != nil {
			continue
		}
		if n, ok := usernsRange(sec, spec.GetUserNamespace()); ok {
			used[n] = true
		}
	}
	return nil
}
