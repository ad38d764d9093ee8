package store

import (
	"errors"
	"path/filepath"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/snapshots"
)

// A store written before snapshots existed has no snapshots bucket: it
// opens, lists nothing, and takes records.
func TestSnapshotRecordsOnAnOldStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s := openTest(t, path, Options{})
	if got, err := s.ListSnapshots(); err != nil || len(got) != 0 {
		t.Fatalf("ListSnapshots on a store without the bucket: %v, %v", got, err)
	}
	if _, err := s.GetSnapshot(testID(1)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("GetSnapshot: %v, want NotFound", err)
	}
	rec := &snapshots.Record{ID: testID(1), Name: "warm", OwnerUID: 1000, SizeBytes: 42}
	if err := s.PutSnapshot(rec); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshot(&snapshots.Record{ID: testID(2), Name: "warm", OwnerUID: 1000}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second snapshot named warm for one owner: %v, want AlreadyExists", err)
	}
	if err := s.PutSnapshot(&snapshots.Record{ID: testID(2), Name: "warm", OwnerUID: 1001}); err != nil {
		t.Fatalf("another owner's warm: %v", err)
	}
	s.Close()
	s = openTest(t, path, Options{})
	got, err := s.GetSnapshot(testID(1))
	if err != nil || got.SizeBytes != 42 || got.Name != "warm" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if err := s.DeleteSnapshot(testID(1)); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.ListSnapshots(); len(all) != 1 {
		t.Fatalf("after delete: %d records", len(all))
	}
}
