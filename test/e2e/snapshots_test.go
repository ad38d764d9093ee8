package e2e

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"nucleus.dev/nucleus/client"
)

// TestE2ESnapshotForkContinuesState: a counter in memory and in /tmp,
// checkpointed with --leave-running, restored three times: each fork
// starts from the checkpointed value and moves on its own, the original
// too. The snapshot's files are root's, 0700/0600.
func TestE2ESnapshotForkContinuesState(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	origID := startCounter(t, ctx, c)
	bump(t, ctx, c, origID, 3, 3)
	start := time.Now()
	snap, err := c.Checkpoint(ctx, origID, client.CheckpointOptions{Name: "warm", LeaveRunning: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checkpoint: %v, %d bytes", time.Since(start), snap.GetSizeBytes())
	if snap.GetSourceId() != origID || snap.GetSizeBytes() <= 0 || !snap.GetSealing() || !snap.GetLeftRunning() {
		t.Fatalf("snapshot: %+v", snap)
	}
	bump(t, ctx, c, origID, 1, 4)

	start = time.Now()
	forks, err := c.Restore(ctx, "warm", client.RestoreOptions{Name: "fork", Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restore of 3: %v", time.Since(start))
	if len(forks) != 3 {
		t.Fatalf("%d forks", len(forks))
	}
	for i, f := range forks {
		if f.GetRestoredFrom() != snap.GetId() || f.GetName() != "fork-"+itoa(int32(i+1)) || f.GetId() == origID {
			t.Errorf("fork %d: %+v", i, f)
		}
		if got := readCount(t, ctx, c, f.GetId()); got != 3 {
			t.Errorf("fork %d starts at %d, want the checkpointed 3", i, got)
		}
	}
	for i, f := range forks {
		bump(t, ctx, c, f.GetId(), i+1, 3+i+1)
	}
	for i, f := range forks {
		if got := readCount(t, ctx, c, f.GetId()); got != 3+i+1 {
			t.Errorf("fork %d at %d, want %d (forks must be independent)", i, got, 3+i+1)
		}
	}
	if got := readCount(t, ctx, c, origID); got != 4 {
		t.Errorf("original at %d, want 4", got)
	}

	if s, err := c.GetSnapshot(ctx, snap.GetId()); err != nil || s.GetSealing() || s.GetDigest() == "" {
		t.Errorf("after the restore: %+v %v, want sealed with a digest", s, err)
	}
	dir := filepath.Join(d.Root, "snapshots", snap.GetId())
	checkSnapshotModes(t, dir)
}

func checkSnapshotModes(t *testing.T, dir string) {
	t.Helper()
	for _, p := range []string{filepath.Dir(dir), dir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want 0700", p, fi.Mode().Perm(), err)
		}
	}
	files, _ := os.ReadDir(dir)
	if len(files) == 0 {
		t.Errorf("%s is empty", dir)
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f.Name()))
		if err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("%s: %v %v, want a 0600 file of root's", f.Name(), fi.Mode(), err)
		}
	}
}
