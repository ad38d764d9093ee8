package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// TestE2ESnapshotImageContainerForks: a container of a pulled image
// writes a file in its writable layer (the sandbox's memory-backed
// rootfs overlay) and keeps a counter in memory; it is checkpointed with
// --leave-running and removed; two forks each see the file and continue
// the counter on their own, on the same image digest, each with its own
// writable layer. While the snapshot
// exists the image cannot be removed (not even forced) nor pruned; once
// the snapshot is removed it can.
func TestE2ESnapshotImageContainerForks(t *testing.T) {
	testutil.E2E(t)
	reg := startRegistry(t)
	ref := reg.push(t, "app:snap", appImage(t))
	d := StartDaemon(t, DaemonOptions{Config: reg.imagesConfig(t, "")})
	c := d.Client()
	ctx := ctxT(t, 4*time.Minute)

	img, err := c.PullImage(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := &nucleusv1.ContainerSpec{Image: ref, ImageUser: "root", NoTimeout: true, Args: []string{
		`echo layer > /written; i=0; trap 'i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count' USR1; echo $i > /tmp/count; while :; do sleep 0.05; done`}}
	ct, err := c.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, ct.GetId()); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, ctx, c, ct.GetId())
	bump(t, ctx, c, ct.GetId(), 2, 2)
	snap, err := c.Checkpoint(ctx, ct.GetId(), client.CheckpointOptions{Name: "img-warm", LeaveRunning: true})
	if err != nil {
		t.Fatalf("checkpoint of an image container: %v", err)
	}
	if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
		t.Fatal(err)
	}

	// Only the snapshot holds the image now.
	for _, force := range []bool{false, true} {
		_, err := c.RemoveImage(ctx, ref, force)
		if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "snapshot") {
			t.Errorf("RemoveImage(force=%v) while a snapshot uses it: %v, want FailedPrecondition naming the snapshot", force, err)
		}
	}
	if pr, err := c.PruneImages(ctx); err != nil || len(pr.GetDeletedDigests()) != 0 {
		t.Errorf("prune while a snapshot uses the image: %v %v, want nothing removed", pr.GetDeletedDigests(), err)
	}

	forks, err := c.Restore(ctx, snap.GetId(), client.RestoreOptions{Name: "imgfork", Count: 2})
	if err != nil {
		t.Fatalf("restore of an image container's snapshot: %v", err)
	}
	if len(forks) != 2 {
		t.Fatalf("%d forks", len(forks))
	}
	for i, f := range forks {
		if f.GetImageDigest() != img.GetDigest() {
			t.Errorf("fork %d runs image %q, want %q", i, f.GetImageDigest(), img.GetDigest())
		}
		res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: f.GetId(), Args: []string{"/bin/cat", "/written"}})
		if err != nil || string(res.GetStdout()) != "layer\n" {
			t.Errorf("fork %d: /written = %q (%v), want the file written before the checkpoint", i, res.GetStdout(), err)
		}
		if got := readCount(t, ctx, c, f.GetId()); got != 2 {
			t.Errorf("fork %d starts at %d, want the checkpointed 2", i, got)
		}
	}
	// Each fork's writable layer is its own.
	if res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: forks[0].GetId(), Args: []string{"/bin/sh", "-c", "echo mine > /written"}}); err != nil || res.GetExitCode() != 0 {
		t.Fatalf("writing in fork 1: %v %s", err, res.GetStderr())
	}
	if res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: forks[1].GetId(), Args: []string{"/bin/cat", "/written"}}); err != nil || string(res.GetStdout()) != "layer\n" {
		t.Errorf("fork 2 sees %q (%v) after fork 1 rewrote /written, want its own \"layer\"", res.GetStdout(), err)
	}
	bump(t, ctx, c, forks[0].GetId(), 1, 3)
	bump(t, ctx, c, forks[1].GetId(), 3, 5)
	if got := readCount(t, ctx, c, forks[0].GetId()); got != 3 {
		t.Errorf("fork 1 at %d, want 3 (forks must be independent)", got)
	}
	for _, f := range forks {
		if _, err := c.Delete(ctx, f.GetId(), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RemoveSnapshot(ctx, snap.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveImage(ctx, ref, false); err != nil {
		t.Errorf("RemoveImage once the snapshot is gone: %v", err)
	}
}

// waitCounter waits until the counter file of id exists.
func waitCounter(t *testing.T, ctx context.Context, c *client.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := c.ExecSync(ctx, counterRead(id))
		if err == nil && res.GetExitCode() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the counter of %s did not start: %v", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
