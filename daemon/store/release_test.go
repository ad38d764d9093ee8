package store

import (
	"errors"
	"path/filepath"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestReleaseName: an interrupted create's name is free for a new
// container at once, the old record stays (renamed to its id) until it is
// removed, and the store passes its consistency check when reopened.
func TestReleaseName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s := openTest(t, path, Options{})
	old := testContainer(0, "web")
	if err := s.CreateContainer(old); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateContainer(testContainer(1, "web")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second web before release: %v, want AlreadyExists", err)
	}
	released, err := s.ReleaseName(old.ID)
	if err != nil || released != "web" {
		t.Fatalf("ReleaseName = %q, %v; want web", released, err)
	}
	if again, err := s.ReleaseName(old.ID); err != nil || again != "" {
		t.Fatalf("second ReleaseName = %q, %v; want nothing to release", again, err)
	}
	got, err := s.GetContainer(old.ID)
	if err != nil || got.Name != old.ID {
		t.Fatalf("released record: %+v, %v; want it named by its id", got, err)
	}
	newer := testContainer(1, "web")
	if err := s.CreateContainer(newer); err != nil {
		t.Fatalf("create web after release: %v", err)
	}
	if got, err := s.GetContainer("web"); err != nil || got.ID != newer.ID {
		t.Fatalf("web resolves to %v, %v; want the new container", got, err)
	}
	// A crash now: the store reopens (its consistency check passes).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	if _, err := s.ReleaseName(testID(9)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("ReleaseName of a missing record: %v, want NotFound", err)
	}
	// Removing the old record leaves the new one's name alone.
	if err := s.DeleteContainer(old.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetContainer("web"); err != nil || got.ID != newer.ID {
		t.Fatalf("after removing the old record web resolves to %v, %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	if _, err := s.GetContainer("web"); err != nil {
		t.Fatalf("reopened store: %v", err)
	}
}
