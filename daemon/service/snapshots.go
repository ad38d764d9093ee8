package service

import (
	"context"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/core"
)

// Snapshots implements nucleusv1.SnapshotsServiceServer over a core.Daemon.
type Snapshots struct {
	nucleusv1.UnimplementedSnapshotsServiceServer
	d *core.Daemon
}

var _ nucleusv1.SnapshotsServiceServer = (*Snapshots)(nil)

// NewSnapshots returns the snapshots service.
func NewSnapshots(d *core.Daemon) *Snapshots { return &Snapshots{d: d} }

// Checkpoint implements nucleusv1.SnapshotsServiceServer.
func (s *Snapshots) Checkpoint(ctx context.Context, req *nucleusv1.CheckpointRequest) (*nucleusv1.CheckpointResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := s.d.Checkpoint(ctx, id, req.GetContainerId(), core.CheckpointOptions{Name: req.GetName(), LeaveRunning: req.GetLeaveRunning(), Sync: req.GetSync()})
	if err != nil {
		return nil, err
	}
	return &nucleusv1.CheckpointResponse{Snapshot: snap}, nil
}

// Restore implements nucleusv1.SnapshotsServiceServer.
func (s *Snapshots) Restore(ctx context.Context, req *nucleusv1.RestoreRequest) (*nucleusv1.RestoreResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := s.d.Restore(ctx, id, req.GetSnapshotId(), req.GetName(), int(req.GetCount()))
	if err != nil {
		return nil, err
	}
	return &nucleusv1.RestoreResponse{Containers: cs}, nil
}

// ListSnapshots implements nucleusv1.SnapshotsServiceServer.
func (s *Snapshots) ListSnapshots(ctx context.Context, _ *nucleusv1.ListSnapshotsRequest) (*nucleusv1.ListSnapshotsResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	snaps, err := s.d.ListSnapshots(id)
	if err != nil {
		return nil, err
	}
	return &nucleusv1.ListSnapshotsResponse{Snapshots: snaps}, nil
}

// GetSnapshot implements nucleusv1.SnapshotsServiceServer.
func (s *Snapshots) GetSnapshot(ctx context.Context, req *nucleusv1.GetSnapshotRequest) (*nucleusv1.GetSnapshotResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := s.d.GetSnapshot(id, req.GetId())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.GetSnapshotResponse{Snapshot: snap}, nil
}

// RemoveSnapshot implements nucleusv1.SnapshotsServiceServer.
func (s *Snapshots) RemoveSnapshot(ctx context.Context, req *nucleusv1.RemoveSnapshotRequest) (*nucleusv1.RemoveSnapshotResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.d.RemoveSnapshot(ctx, id, req.GetId()); err != nil {
		return nil, err
	}
	return &nucleusv1.RemoveSnapshotResponse{}, nil
}
