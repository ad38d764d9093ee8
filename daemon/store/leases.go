package store

import (
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/network"
)

// Network leases: each networked container's address. The bucket is
// created by the first lease, so stores written before it need no
// migration (and schemaVersion stays).
const bucketLeases = "leases" // container id → address (netip binary form)

// Leases is the store's implementation of network.Leases.
type Leases struct{ s *Store }

var _ network.Leases = (*Leases)(nil)

// Leases returns the network lease table.
func (s *Store) Leases() *Leases { return &Leases{s: s} }

// List returns every lease, ordered by id. An entry that does not decode
// (it cannot hold an address another lease could collide with) is skipped.
func (l *Leases) List() ([]network.Lease, error) {
	var out []network.Lease
	err := l.s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketLeases))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var a netip.Addr
			if err := a.UnmarshalBinary(v); err == nil && a.IsValid() {
				out = append(out, network.Lease{ID: string(k), Addr: a})
			}
			return nil
		})
	})
	return out, err
}

// Put records a lease, replacing any earlier one of the same id.
func (l *Leases) Put(lease network.Lease) error {
	if lease.ID == "" || !lease.Addr.IsValid() {
		return fmt.Errorf("store: lease %+v: %w", lease, errdefs.ErrInvalidArgument)
	}
	v, err := lease.Addr.MarshalBinary()
	if err != nil {
		return err
	}
	return l.s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketLeases))
		if err != nil {
			return err
		}
		return b.Put([]byte(lease.ID), v)
	})
}

// Delete removes id's lease; a missing one is not an error.
func (l *Leases) Delete(id string) error {
	return l.s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketLeases))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(id))
	})
}
