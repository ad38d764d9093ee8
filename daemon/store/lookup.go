package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
)

// GetContainerByName returns the record named name, or NotFound; unlike
// GetContainer it never matches an id.
func (s *Store) GetContainerByName(name string) (*Container, error) {
	var out *Container
	err := s.view(func(tx *bolt.Tx) error {
		id := bucket(tx, bucketNames).Get([]byte(name))
		if id == nil {
			return errdefs.NotFound("container %q not found", name)
		}
		c, err := s.getByID(bucket(tx, bucketContainers), string(id))
		out = c
		return err
	})
	return out, err
}

// ContainersWithIDPrefix returns copies of the records whose id starts
// with prefix and for which keep returns true (all when keep is nil), at
// most limit of them (0: no limit), in id order. It seeks to the prefix
// instead of scanning every record.
func (s *Store) ContainersWithIDPrefix(prefix string, keep func(*Container) bool, limit int) ([]*Container, error) {
	var out []*Container
	err := s.view(func(tx *bolt.Tx) error {
		cur := bucket(tx, bucketContainers).Cursor()
		p := []byte(prefix)
		for k, v := cur.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = cur.Next() {
			c, err := s.cache.decode(string(k), v)
			if err != nil {
				return err
			}
			if keep != nil && !keep(c) {
				continue
			}
			if out = append(out, c.clone()); limit > 0 && len(out) >= limit {
				return nil
			}
		}
		return nil
	})
	return out, err
}
