package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// TestE2ESnapshotPauseToDiskAfterRestart: a checkpoint without
// --leave-running stops the container; after a daemon restart the
// snapshot restores and continues. A changed file (digest) and another
// runsc version are refused with FailedPrecondition, and nothing starts.
func TestE2ESnapshotPauseToDiskAfterRestart(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 4*time.Minute)
	id := startCounter(t, ctx, c)
	bump(t, ctx, c, id, 2, 2)
	snap, err := c.Checkpoint(ctx, id, client.CheckpointOptions{Name: "paused"})
	if err != nil {
		t.Fatal(err)
	}
	if ct, err := c.Get(ctx, id); err != nil || ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_EXITED {
		t.Fatalf("after a stop-mode checkpoint: %v %v, want EXITED", ct.GetState(), err)
	}

	d.Stop()
	d.Start()
	c = d.Client()
	forks, err := c.Restore(ctx, "paused", client.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fork := forks[0].GetId()
	if got := readCount(t, ctx, c, fork); got != 2 {
		t.Fatalf("restored counter at %d, want 2", got)
	}
	bump(t, ctx, c, fork, 1, 3)

	// A snapshot made by another runsc version.
	other, err := c.Checkpoint(ctx, fork, client.CheckpointOptions{Name: "other-version", LeaveRunning: true})
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	st, err := store.Open(filepath.Join(d.Root, "nucleus.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.GetSnapshot(other.GetId())
	if err == nil {
		rec.RunscVersion = "runsc v0.0.0-20990101000000-000000000000 (spec 1.2.1)"
		if err = st.DeleteSnapshot(rec.ID); err == nil {
			err = st.PutSnapshot(rec)
		}
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	c = d.Client()
	before, _ := c.List(ctx, nil)
	if _, err := c.Restore(ctx, "other-version", client.RestoreOptions{}); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "v0.0.0-20990101000000") {
		t.Errorf("restore of another runsc version's snapshot: %v, want FailedPrecondition naming it", err)
	}

	// A changed image file.
	f := filepath.Join(d.Root, "snapshots", snap.GetId(), "checkpoint.img")
	if _, err := os.Stat(f); err != nil {
		files, _ := os.ReadDir(filepath.Dir(f))
		t.Fatalf("no checkpoint.img in the snapshot: %v", files)
	}
	fh, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write([]byte{0})
	fh.Close()
	if _, err := c.Restore(ctx, "paused", client.RestoreOptions{}); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("restore of a changed snapshot: %v, want FailedPrecondition (damaged)", err)
	}
	if after, _ := c.List(ctx, nil); len(after) != len(before) {
		t.Errorf("refused restores left containers: %d before, %d after", len(before), len(after))
	}
	if err := c.RemoveSnapshot(ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(f)); !os.IsNotExist(err) {
		t.Errorf("removed snapshot's directory: %v", err)
	}
	if _, err := c.GetSnapshot(ctx, snap.GetId()); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("removed snapshot: %v, want NotFound", err)
	}
	want := []string{"CHECKPOINTED " + snap.GetId(), "RESTORED " + snap.GetId(), "CHECKPOINTED " + other.GetId(), "SNAPSHOT_REMOVED " + snap.GetId()}
	if got := snapshotEvents(t, ctx, c, len(want)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events: %v, want %v", got, want)
	}
}
