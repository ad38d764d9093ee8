package network

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Lease is one container's address.
type Lease struct {
	ID   string
	Addr netip.Addr
}

// Leases stores IPAM state durably (the daemon implements it in its store).
// The Manager serialises its calls, so an implementation needs no locking
// beyond what its storage needs.
type Leases interface {
	// List returns every lease.
	List() ([]Lease, error)
	// Put records id's address, replacing any earlier lease of id.
	Put(l Lease) error
	// Delete removes id's lease; a missing one is not an error.
	Delete(id string) error
}

// MemLeases is an in-memory Leases for tests.
type MemLeases struct {
	mu sync.Mutex
	m  map[string]netip.Addr
}

// NewMemLeases returns an empty MemLeases.
func NewMemLeases() *MemLeases { return &MemLeases{m: map[string]netip.Addr{}} }

// List returns the leases sorted by id.
func (l *MemLeases) List() ([]Lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Lease, 0, len(l.m))
	for id, a := range l.m {
		out = append(out, Lease{ID: id, Addr: a})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Put records a lease.
func (l *MemLeases) Put(lease Lease) error {
	if lease.ID == "" || !lease.Addr.IsValid() {
		return fmt.Errorf("lease %+v: %w", lease, errdefs.ErrInvalidArgument)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[lease.ID] = lease.Addr
	return nil
}

// Delete removes a lease.
func (l *MemLeases) Delete(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
	return nil
}
