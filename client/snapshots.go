package client

import (
	"context"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// snapshots is the Snapshots service's generated client on c's connection.
func (c *Client) snapshots() nucleusv1.SnapshotsServiceClient {
	return nucleusv1.NewSnapshotsServiceClient(c.conn)
}

// CheckpointOptions are Checkpoint's choices.
type CheckpointOptions struct {
	// Name of the snapshot; empty: the first 12 characters of its id.
	Name string
	// LeaveRunning keeps the container running; otherwise it is stopped
	// once saved ("pause to disk").
	LeaveRunning bool
	// Sync answers only once the snapshot is sealed (durable, digested);
	// a checkpoint without LeaveRunning always waits for the seal.
	Sync bool
}

// Checkpoint saves the running container id (id, prefix or name) to a new
// snapshot.
func (c *Client) Checkpoint(ctx context.Context, id string, o CheckpointOptions) (*nucleusv1.Snapshot, error) {
	resp, err := c.snapshots().Checkpoint(ctx, &nucleusv1.CheckpointRequest{ContainerId: id, Name: o.Name, LeaveRunning: o.LeaveRunning, Sync: o.Sync})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetSnapshot(), nil
}

// RestoreOptions are Restore's choices.
type RestoreOptions struct {
	// Name of the new container (name-1 ... name-N with Count > 1).
	Name string
	// Count is how many containers to restore (forks); 0 means 1.
	Count int
}

// Restore starts new containers from snapshot (id, prefix or name),
// running from the checkpointed state.
func (c *Client) Restore(ctx context.Context, snapshot string, o RestoreOptions) ([]*nucleusv1.Container, error) {
	resp, err := c.snapshots().Restore(ctx, &nucleusv1.RestoreRequest{SnapshotId: snapshot, Name: o.Name, Count: uint32(max(o.Count, 0))})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainers(), nil
}

// ListSnapshots returns the caller's snapshots (every one for root),
// oldest first.
func (c *Client) ListSnapshots(ctx context.Context) ([]*nucleusv1.Snapshot, error) {
	resp, err := c.snapshots().ListSnapshots(ctx, &nucleusv1.ListSnapshotsRequest{})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetSnapshots(), nil
}

// GetSnapshot returns one snapshot.
func (c *Client) GetSnapshot(ctx context.Context, id string) (*nucleusv1.Snapshot, error) {
	resp, err := c.snapshots().GetSnapshot(ctx, &nucleusv1.GetSnapshotRequest{Id: id})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetSnapshot(), nil
}

// RemoveSnapshot deletes a snapshot and its files.
func (c *Client) RemoveSnapshot(ctx context.Context, id string) error {
	_, err := c.snapshots().RemoveSnapshot(ctx, &nucleusv1.RemoveSnapshotRequest{Id: id})
	return c.fromGRPC(err)
}
