package store

import (
	"net/netip"
	"path/filepath"
	"testing"

	"nucleus.dev/nucleus/network"
)

// TestLeases: a store without the leases bucket (written before it
// existed) lists none and deletes quietly; leases survive a reopen, Put
// replaces, Delete removes.
func TestLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s := openTest(t, path, Options{})
	l := s.Leases()
	if ls, err := l.List(); err != nil || len(ls) != 0 {
		t.Fatalf("fresh store: %v %v", ls, err)
	}
	if err := l.Delete("none"); err != nil {
		t.Fatalf("delete before any lease: %v", err)
	}
	a := netip.MustParseAddr("10.88.0.2")
	for _, lease := range []network.Lease{{ID: "b", Addr: a}, {ID: "a", Addr: a.Next()}, {ID: "b", Addr: a.Next().Next()}} {
		if err := l.Put(lease); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Put(network.Lease{ID: "c"}); err == nil {
		t.Fatal("a lease without an address was accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	if s.Info().Rebuilt {
		t.Fatal("a store with leases was judged corrupt")
	}
	ls, err := s.Leases().List()
	want := []network.Lease{{ID: "a", Addr: a.Next()}, {ID: "b", Addr: a.Next().Next()}}
	if err != nil || len(ls) != 2 || ls[0] != want[0] || ls[1] != want[1] {
		t.Fatalf("after reopen: %v %v, want %v", ls, err, want)
	}
	if err := s.Leases().Delete("a"); err != nil {
		t.Fatal(err)
	}
	if ls, _ := s.Leases().List(); len(ls) != 1 || ls[0].ID != "b" {
		t.Fatalf("after delete: %v", ls)
	}
}
