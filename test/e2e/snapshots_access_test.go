package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// TestE2ESnapshotOtherUIDSeesNothing: another uid cannot list, get,
// restore or remove root's snapshot (NotFound, like a missing one), nor
// checkpoint root's container.
func TestE2ESnapshotOtherUIDSeesNothing(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[api]\nsocket_group = \"nogroup\"\n"})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	ct, err := c.Create(ctx, sh("sleep 600"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, ct.GetId()); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Checkpoint(ctx, ct.GetId(), client.CheckpointOptions{Name: "secret-state", LeaveRunning: true})
	if err != nil {
		t.Fatal(err)
	}
	res := asUser(t, d.Socket, nobody, nogroup, []uint32{nogroup},
		childCall{Op: "snapshot-list"},
		childCall{Op: "snapshot-get", ID: snap.GetId()},
		childCall{Op: "snapshot-get", ID: "secret-state"},
		childCall{Op: "snapshot-get", ID: snap.GetId()[:8]},
		childCall{Op: "snapshot-restore", ID: snap.GetId()},
		childCall{Op: "snapshot-rm", ID: snap.GetId()},
		childCall{Op: "checkpoint", ID: ct.GetId()},
	)
	if res[0].Kind != "" || len(res[0].IDs) != 0 {
		t.Errorf("another uid's list: %+v, want empty", res[0])
	}
	for _, r := range res[1:] {
		if r.Kind != "NotFound" {
			t.Errorf("another uid: %+v, want NotFound", r)
		}
	}
	if got, err := c.GetSnapshot(ctx, snap.GetId()); err != nil || got.GetId() != snap.GetId() {
		t.Fatalf("the owner lost the snapshot: %v", err)
	}
	if all, _ := c.ListSnapshots(ctx); len(all) != 1 {
		t.Errorf("snapshots after another uid's attempts: %d, want 1", len(all))
	}
	checkSnapshotModes(t, filepath.Join(d.Root, "snapshots", snap.GetId()))
}

// TestE2ESnapshotOverLimit: a snapshot over snapshots.max_bytes fails with
// ResourceExhausted and leaves nothing; the container keeps running. A
// container on another network than none, or with secrets, is refused
// (FailedPrecondition).
func TestE2ESnapshotOverLimit(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[snapshots]\nmax_bytes = \"64k\"\n"})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	id := startCounter(t, ctx, c)
	bump(t, ctx, c, id, 1, 1)
	_, err := c.Checkpoint(ctx, id, client.CheckpointOptions{Name: "big"})
	if !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("checkpoint over max_bytes: %v, want ResourceExhausted", err)
	}
	t.Logf("refused: %v", err)
	if all, err := c.ListSnapshots(ctx); err != nil || len(all) != 0 {
		t.Errorf("snapshots after a refused checkpoint: %v %v", all, err)
	}
	if left, _ := os.ReadDir(filepath.Join(d.Root, "snapshots")); len(left) != 0 {
		t.Errorf("left in the snapshots directory: %v", left)
	}
	bump(t, ctx, c, id, 1, 2) // still running, as it was

	// What cannot be checkpointed is refused before anything is written.
	netSpec := sh("sleep 600")
	netSpec.Network = "sandbox"
	secretSpec := sh("sleep 600")
	secretSpec.Secrets = []*nucleusv1.Secret{{Name: "token", Data: []byte("s3cret")}}
	for name, spec := range map[string]*nucleusv1.ContainerSpec{"network sandbox": netSpec, "a secret": secretSpec} {
		ct, err := c.Create(ctx, spec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := c.Start(ctx, ct.GetId()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := c.Checkpoint(ctx, ct.GetId(), client.CheckpointOptions{LeaveRunning: true}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("checkpoint of a container with %s: %v, want FailedPrecondition", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(d.Root, "snapshots")); len(left) != 0 {
		t.Errorf("left in the snapshots directory: %v", left)
	}
}
