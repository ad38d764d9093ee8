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
	"nucleus.dev/nucleus/snapshots"
)

// TestE2ESnapshotSealsInBackground: a --leave-running checkpoint answers
// before its seal (sealing, no digest yet); a restore at once waits for
// the seal and continues the state; --sync answers sealed. A file changed
// after this daemon sealed it is still caught. After a crash, a snapshot
// left unsealed in this boot is sealed again with the same digest and
// restores; one from another boot is discarded with the reason kept.
func TestE2ESnapshotSealsInBackground(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 5*time.Minute)
	id := startCounter(t, ctx, c)
	bump(t, ctx, c, id, 2, 2)

	fast, err := c.Checkpoint(ctx, id, client.CheckpointOptions{Name: "fast", LeaveRunning: true})
	if err != nil {
		t.Fatal(err)
	}
	if !fast.GetSealing() || fast.GetDigest() != "" {
		t.Errorf("a background-sealed checkpoint answered sealing=%v digest=%q, want sealing and no digest", fast.GetSealing(), fast.GetDigest())
	}
	forks, err := c.Restore(ctx, fast.GetId(), client.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readCount(t, ctx, c, forks[0].GetId()); got != 2 {
		t.Errorf("restored at once: counter %d, want 2", got)
	}
	sealed, err := c.GetSnapshot(ctx, fast.GetId())
	if err != nil || sealed.GetSealing() || !strings.HasPrefix(sealed.GetDigest(), "sha256:") || sealed.GetSealError() != "" {
		t.Fatalf("after the restore: %+v %v, want sealed with a digest", sealed, err)
	}

	synced, err := c.Checkpoint(ctx, id, client.CheckpointOptions{Name: "synced", LeaveRunning: true, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	if synced.GetSealing() || !strings.HasPrefix(synced.GetDigest(), "sha256:") {
		t.Errorf("--sync answered sealing=%v digest=%q", synced.GetSealing(), synced.GetDigest())
	}
	// Changed behind the daemon's back after its own seal: the restore
	// must not trust what the seal saw.
	appendByte(t, filepath.Join(d.Root, "snapshots", synced.GetId(), "checkpoint.img"))
	if _, err := c.Restore(ctx, synced.GetId(), client.RestoreOptions{}); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("restore of a file changed after the seal: %v, want FailedPrecondition (damaged)", err)
	}
	other, err := c.Checkpoint(ctx, id, client.CheckpointOptions{Name: "other-boot", LeaveRunning: true, Sync: true})
	if err != nil {
		t.Fatal(err)
	}

	// The state a crash leaves: records still sealing, a manifest half
	// written (here: none at all, and a stale one that must be replaced).
	d.Stop()
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	editSnapshots(t, d, func(r *snapshots.Record) {
		switch r.ID {
		case fast.GetId():
			r.Sealing, r.Digest, r.BootID = true, "", strings.TrimSpace(string(boot))
		case other.GetId():
			r.Sealing, r.Digest, r.BootID = true, "", "00000000-0000-0000-0000-000000000000"
		}
	})
	if err := os.WriteFile(filepath.Join(d.Root, "snapshots", fast.GetId(), snapshots.ManifestFile), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.Start()
	c = d.Client()
	var resealed *nucleusv1.Snapshot
	if !waitFor(60*time.Second, func() bool {
		resealed, err = c.GetSnapshot(ctx, fast.GetId())
		return err == nil && !resealed.GetSealing()
	}) {
		t.Fatalf("the interrupted seal was not resumed: %+v %v", resealed, err)
	}
	if resealed.GetDigest() != sealed.GetDigest() || resealed.GetSealError() != "" {
		t.Errorf("resealed digest %q (error %q), the first seal gave %q", resealed.GetDigest(), resealed.GetSealError(), sealed.GetDigest())
	}
	forks, err = c.Restore(ctx, fast.GetId(), client.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readCount(t, ctx, c, forks[0].GetId()); got != 2 {
		t.Errorf("restored after the resumed seal: counter %d, want 2", got)
	}
	gone, err := c.GetSnapshot(ctx, other.GetId())
	if err != nil || gone.GetSealing() || !strings.Contains(gone.GetSealError(), "host restarted") {
		t.Errorf("a snapshot unsealed in another boot: %+v %v, want its seal error kept", gone, err)
	}
	if _, err := os.Stat(filepath.Join(d.Root, "snapshots", other.GetId())); !os.IsNotExist(err) {
		t.Errorf("the files of a discarded snapshot: %v, want removed", err)
	}
	if _, err := c.Restore(ctx, other.GetId(), client.RestoreOptions{}); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "host restarted") {
		t.Errorf("restore of a discarded snapshot: %v, want FailedPrecondition naming why", err)
	}
	if err := c.RemoveSnapshot(ctx, other.GetId()); err != nil {
		t.Errorf("removing a discarded snapshot: %v", err)
	}

	// kill -9 right after the answer, whatever the seal had done by then.
	last, err := c.Checkpoint(ctx, id, client.CheckpointOptions{Name: "killed", LeaveRunning: true})
	if err != nil {
		t.Fatal(err)
	}
	d.Kill9()
	d.Start()
	c = d.Client()
	forks, err = c.Restore(ctx, last.GetId(), client.RestoreOptions{})
	if err != nil {
		t.Fatalf("restore of a snapshot whose seal a kill -9 interrupted: %v", err)
	}
	if got := readCount(t, ctx, c, forks[0].GetId()); got != 2 {
		t.Errorf("counter %d, want 2", got)
	}
	if s, err := c.GetSnapshot(ctx, last.GetId()); err != nil || s.GetSealing() || s.GetDigest() == "" {
		t.Errorf("after kill -9 and a restore: %+v %v, want sealed", s, err)
	}
}

func appendByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
}

// editSnapshots changes the records of a stopped daemon's store.
func editSnapshots(t *testing.T, d *Daemon, edit func(*snapshots.Record)) {
	t.Helper()
	st, err := store.Open(filepath.Join(d.Root, "nucleus.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.ListSnapshots()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		edit(r)
		if err := st.UpdateSnapshot(r); err != nil {
			t.Fatal(err)
		}
	}
}
