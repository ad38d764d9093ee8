package store

import (
	"errors"
	"path/filepath"
	"testing"

	"nucleus.dev/nucleus/images"
	"nucleus.dev/nucleus/internal/errdefs"
)

func TestImageRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s := openTest(t, path, Options{})
	recs := s.Images()
	// A store without the image buckets (written before images existed)
	// reads as empty.
	if all, err := recs.List(); err != nil || len(all) != 0 {
		t.Fatalf("List on an old store = %v, %v", all, err)
	}
	if _, err := recs.GetByRef("r/a:v1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("GetByRef on an old store = %v", err)
	}
	a := &images.Record{Digest: "sha256:aa", References: []string{"r/a:v1", "r/a:latest"}, PulledBy: 1000}
	b := &images.Record{Digest: "sha256:bb", References: []string{"r/b:v1"}}
	for _, r := range []*images.Record{a, b} {
		if err := recs.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	// Moving a tag takes it from the image that had it.
	b.References = append(b.References, "r/a:latest")
	if err := recs.Put(b); err != nil {
		t.Fatal(err)
	}
	if got, err := recs.GetByRef("r/a:latest"); err != nil || got.Digest != "sha256:bb" {
		t.Fatalf("moved tag = %v, %v", got, err)
	}
	if got, _ := recs.Get("sha256:aa"); len(got.References) != 1 || got.PulledBy != 1000 {
		t.Fatalf("a after the move = %+v", got)
	}
	// Dropping a reference from a record unindexes it.
	a.References = nil
	if err := recs.Put(a); err != nil {
		t.Fatal(err)
	}
	if _, err := recs.GetByRef("r/a:v1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("a dropped reference still resolves: %v", err)
	}
	if err := recs.Delete("sha256:bb"); err != nil {
		t.Fatal(err)
	}
	if _, err := recs.GetByRef("r/b:v1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("a deleted image's reference still resolves: %v", err)
	}
	// The records survive a reopen and the store passes its check.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path, Options{})
	if s2.Info().Rebuilt {
		t.Fatalf("a store with image records was found corrupt: %+v", s2.Info())
	}
	if all, err := s2.Images().List(); err != nil || len(all) != 1 || all[0].Digest != "sha256:aa" {
		t.Fatalf("after reopen: %v, %v", all, err)
	}
}
