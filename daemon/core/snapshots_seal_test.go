package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/snapshots"
)

// sealDaemon is a storeDaemon with a snapshots directory and a boot id.
func sealDaemon(t *testing.T) *Daemon {
	t.Helper()
	d := storeDaemon(t)
	dir, err := snapshots.Open(t.TempDir(), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	d.snaps, d.log, d.bootID = dir, zap.NewNop(), "this-boot"
	return d
}

// unsealed writes a checkpoint's files and a record still sealing.
func unsealed(t *testing.T, d *Daemon, id, name, boot string) *snapshots.Record {
	t.Helper()
	p, err := d.snaps.Begin(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Path(), "pages.img"), []byte("memory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.CommitUnsealed(); err != nil {
		t.Fatal(err)
	}
	rec := &snapshots.Record{ID: id, Name: name, Spec: []byte("{}"), SizeBytes: 6, Sealing: true, BootID: boot}
	if err := d.store.PutSnapshot(rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestResumeSealsByBoot: at start, a snapshot left sealing in this boot is
// sealed (digest recorded, files kept); one of another boot is discarded:
// files removed, the reason recorded, no digest.
func TestResumeSealsByBoot(t *testing.T) {
	d := sealDaemon(t)
	same := unsealed(t, d, strings.Repeat("a", 32), "same", "this-boot")
	other := unsealed(t, d, strings.Repeat("b", 32), "other", "an-earlier-boot")
	if err := d.resumeSeals(); err != nil {
		t.Fatal(err)
	}
	d.wg.Wait()
	got, err := d.store.GetSnapshot(same.ID)
	if err != nil || got.Sealing || !strings.HasPrefix(got.Digest, "sha256:") || got.SealError != "" {
		t.Errorf("same boot: %+v %v, want sealed", got, err)
	}
	if err := d.snaps.Verify(same.ID, got.Digest); err != nil {
		t.Errorf("the resumed seal does not verify: %v", err)
	}
	got, err = d.store.GetSnapshot(other.ID)
	if err != nil || got.Sealing || got.Digest != "" || !strings.Contains(got.SealError, "host restarted") {
		t.Errorf("other boot: %+v %v, want discarded with its reason", got, err)
	}
	if _, err := os.Stat(d.snaps.Path(other.ID)); !os.IsNotExist(err) {
		t.Errorf("other boot's files: %v, want removed", err)
	}
}

// TestSealFailureKeepsTheReason: a seal that cannot write its manifest
// (here a directory in its place) fails, removes the files and records
// why, so the snapshot is listed as failed rather than silently gone.
func TestSealFailureKeepsTheReason(t *testing.T) {
	d := sealDaemon(t)
	rec := unsealed(t, d, strings.Repeat("c", 32), "broken", "this-boot")
	blocker := filepath.Join(d.snaps.Path(rec.ID), snapshots.ManifestFile, "x")
	if err := os.MkdirAll(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.seal(rec); err == nil {
		t.Fatal("a seal that could not write its manifest succeeded")
	}
	got, err := d.store.GetSnapshot(rec.ID)
	if err != nil || got.Sealing || got.SealError == "" || got.Digest != "" {
		t.Errorf("record after a failed seal: %+v %v", got, err)
	}
	if _, err := os.Stat(d.snaps.Path(rec.ID)); !os.IsNotExist(err) {
		t.Errorf("files after a failed seal: %v, want removed", err)
	}
}
