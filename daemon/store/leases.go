package store

import (
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Network leases: the egress network's IPAM state, one address per
// container id. The bucket is created by the first lease, so stores
// written before it need no migration.
const bucketLeases = "net-leases" // container id → address (text)

// NetLease is one container's address on the egress network.
type NetLease struct {
	ID, Addr string
}

// NetLeases returns every lease, sorted by id.
func (s *Store) NetLeases() ([]NetLease, error) {
	var out []NetLease
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketLeases))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out = append(out, NetLease{ID: string(k), Addr: string(v)})
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// PutNetLease records id's address, replacing an earlier one.
func (s *Store) PutNetLease(l NetLease) error {
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketLeases))
		if err != nil {
			return err
		}
		return b.Put([]byte(l.ID), []byte(l.Addr))
	})
}

// DeleteNetLease removes id's lease; a missing one is not an error.
func (s *Store) DeleteNetLease(id string) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketLeases))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(id))
	})
}
