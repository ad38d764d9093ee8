package core

import (
	"errors"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// TestLookupNameNeverShadowsID: a container named like another's id
// prefix (as a tenant could name one before names were checked) never
// answers for that prefix; the tenant's own lookups find its own.
func TestLookupNameNeverShadowsID(t *testing.T) {
	d := storeDaemon(t)
	rootID := "abcdef123456" + strings.Repeat("0", 20)
	tenantID := "0123" + strings.Repeat("9", 28)
	addRecord(t, d, rootID, "rootbox", 0, stateRunning)
	addRecord(t, d, tenantID, "abcdef123456", 1000, stateRunning) // a legacy hex name
	for _, q := range []string{rootID, "abcdef123456", "abcd", "rootbox"} {
		if c, err := d.lookup(rootCaller, q); err != nil || c.ID != rootID {
			t.Errorf("root lookup %q = %v, %v; want root's own %s", q, c, err, rootID)
		}
	}
	// The tenant sees only its own: by its name, its id and its prefix.
	for _, q := range []string{"abcdef123456", tenantID, "0123"} {
		if c, err := d.lookup(tenantCaller, q); err != nil || c.ID != tenantID {
			t.Errorf("tenant lookup %q = %v, %v; want its own", q, c, err)
		}
	}
	for _, q := range []string{rootID, "rootbox", "abcd"} {
		if _, err := d.lookup(tenantCaller, q); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("tenant lookup %q of root's container = %v, want NotFound", q, err)
		}
	}
	// Another's container reads exactly like a missing one.
	_, hidden := d.lookup(tenantCaller, "rootbox")
	_, missing := d.lookup(tenantCaller, "nonebox")
	if hidden == nil || missing == nil || strings.ReplaceAll(hidden.Error(), "rootbox", "nonebox") != missing.Error() {
		t.Errorf("root's name as seen by the tenant: %v; a missing name: %v; want the same error", hidden, missing)
	}
	// Root reaches the tenant's container by its id or prefix, and by its
	// name only where no id starts with it.
	if c, err := d.lookup(rootCaller, "0123"); err != nil || c.ID != tenantID {
		t.Errorf("root lookup of the tenant's prefix = %v, %v", c, err)
	}
}

// TestLookupAmbiguousPrefix: a prefix shared by two of the caller's
// containers is refused without a count of anyone else's.
func TestLookupAmbiguousPrefix(t *testing.T) {
	d := storeDaemon(t)
	addRecord(t, d, "beef"+strings.Repeat("1", 28), "a", 1000, stateRunning)
	addRecord(t, d, "beef"+strings.Repeat("2", 28), "b", 1000, stateRunning)
	addRecord(t, d, "beef"+strings.Repeat("3", 28), "c", 0, stateRunning)
	if _, err := d.lookup(tenantCaller, "beef"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ambiguous prefix = %v, want InvalidArgument", err)
	}
	if c, err := d.lookup(tenantCaller, "beef2"); err != nil || c.Name != "b" {
		t.Errorf("beef2 = %v, %v", c, err)
	}
}

// TestNameInUseIdentifiesOnlyVisibleHolder: the error names the holder's
// id for root and for its owner, never for another tenant.
func TestNameInUseIdentifiesOnlyVisibleHolder(t *testing.T) {
	d := storeDaemon(t)
	rootID := strings.Repeat("a", 32)
	addRecord(t, d, rootID, "web", 0, stateRunning)
	dup := &store.Container{ID: strings.Repeat("b", 32), Name: "web", OwnerUID: 1000, CreatedAt: time.Now(),
		Spec: &nucleusv1.ContainerSpec{Args: []string{"true"}}}
	err := d.nameInUse(tenantCaller, "web", d.store.CreateContainer(dup))
	if !errors.Is(err, errdefs.ErrAlreadyExists) || strings.Contains(err.Error(), rootID) {
		t.Errorf("tenant's collision = %v, want AlreadyExists without root's id", err)
	}
	dup.OwnerUID = 0
	err = d.nameInUse(rootCaller, "web", d.store.CreateContainer(dup))
	if !errors.Is(err, errdefs.ErrAlreadyExists) || !strings.Contains(err.Error(), rootID) {
		t.Errorf("root's collision = %v, want the holder's id", err)
	}
}
