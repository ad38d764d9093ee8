package store

import (
	"path/filepath"
	"testing"
)

// TestNetLeases: leases survive a reopen, Put replaces, Delete of a
// missing lease is no error; a record's address survives too.
func TestNetLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s := openTest(t, path, Options{})
	if ls, err := s.NetLeases(); err != nil || len(ls) != 0 {
		t.Fatalf("a new store's leases = %v, %v", ls, err)
	}
	for _, l := range []NetLease{{"b", "10.0.0.3"}, {"a", "10.0.0.2"}, {"b", "10.0.0.4"}} {
		if err := s.PutNetLease(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteNetLease("missing"); err != nil {
		t.Fatal(err)
	}
	c := testContainer(1, "web")
	c.IPAddress = "10.0.0.2"
	if err := s.CreateContainer(c); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = openTest(t, path, Options{})
	ls, err := s.NetLeases()
	if err != nil || len(ls) != 2 || ls[0] != (NetLease{"a", "10.0.0.2"}) || ls[1] != (NetLease{"b", "10.0.0.4"}) {
		t.Fatalf("leases after reopen = %v, %v", ls, err)
	}
	if got, err := s.GetContainer(c.ID); err != nil || got.IPAddress != "10.0.0.2" {
		t.Fatalf("record address after reopen = %q, %v", got.IPAddress, err)
	}
	if err := s.DeleteNetLease("a"); err != nil {
		t.Fatal(err)
	}
	if ls, _ := s.NetLeases(); len(ls) != 1 || ls[0].ID != "b" {
		t.Fatalf("leases after delete = %v", ls)
	}
}
