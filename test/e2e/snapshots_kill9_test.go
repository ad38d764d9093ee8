package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// bigSpec touches 40 MiB of incompressible memory (in its tmpfs /tmp), so
// that a checkpoint and a restore take long enough to be interrupted.
func bigSpec() *nucleusv1.ContainerSpec {
	spec := sh(`head -c 41943040 /dev/urandom > /tmp/big && echo ready > /tmp/ready; while :; do sleep 1; done`)
	spec.NoTimeout = true
	return spec
}

// waitFor polls cond every 2 ms for up to limit.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// TestE2ESnapshotKill9: nucleusd killed with SIGKILL in the middle of a
// checkpoint leaves no listed snapshot and no file after its restart; in
// the middle of a restore, no orphan sandbox (the harness's cleanup checks
// that nothing is left once every listed container is removed).
func TestE2ESnapshotKill9(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 5*time.Minute)
	ct, err := c.Create(ctx, bigSpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, ct.GetId()); err != nil {
		t.Fatal(err)
	}
	if !waitFor(60*time.Second, func() bool {
		res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: ct.GetId(), Args: []string{"/bin/cat", "/tmp/ready"}})
		return err == nil && res.GetExitCode() == 0
	}) {
		t.Fatal("the workload did not get ready")
	}
	snapDir := filepath.Join(d.Root, "snapshots")
	pending := func() bool {
		entries, _ := os.ReadDir(snapDir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				return true
			}
		}
		return false
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Checkpoint(context.Background(), ct.GetId(), client.CheckpointOptions{Name: "interrupted", LeaveRunning: true})
		done <- err
	}()
	if !waitFor(30*time.Second, pending) {
		t.Fatalf("no checkpoint in progress: %v", <-done)
	}
	d.Kill9()
	if err := <-done; err == nil {
		t.Fatal("the checkpoint finished before nucleusd was killed")
	}
	d.Start()
	c = d.Client()
	if all, err := c.ListSnapshots(ctx); err != nil || len(all) != 0 {
		t.Errorf("snapshots after kill -9 mid-checkpoint: %v %v", all, err)
	}
	// runsc's checkpoint may outlive nucleusd by a moment; its files are
	// unlinked with the temporary directory at start.
	if !waitFor(10*time.Second, func() bool { e, _ := os.ReadDir(snapDir); return len(e) == 0 }) {
		e, _ := os.ReadDir(snapDir)
		t.Errorf("left in the snapshots directory after restart: %v", e)
	}

	snap, err := c.Checkpoint(ctx, ct.GetId(), client.CheckpointOptions{Name: "whole", LeaveRunning: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot of 40 MiB touched: %d bytes", snap.GetSizeBytes())
	supDir := filepath.Join(d.State, "supervisors")
	go func() {
		_, err := c.Restore(context.Background(), snap.GetId(), client.RestoreOptions{Count: 2})
		done <- err
	}()
	if !waitFor(30*time.Second, func() bool { e, _ := os.ReadDir(supDir); return len(e) > 1 }) {
		t.Fatalf("no restore in progress: %v", <-done)
	}
	time.Sleep(50 * time.Millisecond)
	d.Kill9()
	<-done
	d.Start()
	c = d.Client()
	// Recovery undoes an interrupted create in the background.
	var list []*nucleusv1.Container
	settled := waitFor(90*time.Second, func() bool {
		list, err = c.List(ctx, nil)
		if err != nil {
			return false
		}
		for _, x := range list {
			if x.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_CREATING {
				return false
			}
		}
		return true
	})
	if !settled {
		t.Errorf("after kill -9 mid-restore, containers stay CREATING: %v %v", list, err)
	}
	t.Logf("%d containers after the restart (the source and any restore that completed)", len(list))
}
