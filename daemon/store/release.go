package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ReleaseName frees the name of id's record for another container: the
// record is renamed to its own id, a name no request can ask for (names
// that look like ids are refused), so the store stays consistent while
// the record waits to be removed. Recovery does this for creates that a
// crash interrupted, before the socket accepts calls, so that a client
// retrying the create at once gets the name. It returns the released name
// ("" when the record already carried its id).
func (s *Store) ReleaseName(id string) (string, error) {
	defer s.cache.forget(id)
	var released string
	err := s.update(func(tx *bolt.Tx) error {
		containers, names := bucket(tx, bucketContainers), bucket(tx, bucketNames)
		c, err := s.getByID(containers, id)
		if err != nil {
			return err
		}
		if c.Name == id {
			return nil
		}
		if bytes.Equal(names.Get([]byte(c.Name)), []byte(id)) {
			if err := names.Delete([]byte(c.Name)); err != nil {
				return err
			}
		}
		if err := names.Put([]byte(id), []byte(id)); err != nil {
			return err
		}
		released, c.Name = c.Name, id
		data, err := encodeContainer(c)
		if err != nil {
			return fmt.Errorf("container %s: %w", id, err)
		}
		return containers.Put([]byte(id), data)
	})
	if err != nil {
		return "", fmt.Errorf("release the name of %s: %w", id, err)
	}
	return released, nil
}
