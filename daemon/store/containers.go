package store

import (
	"bytes"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/identifiers"
)

// CreateContainer stores a new record and reserves its name, in one
// transaction: AlreadyExists when the id or the name is taken,
// ResourceExhausted when Options.MaxContainers or MaxContainersPerOwner
// would be exceeded, InvalidArgument for a malformed id or name.
func (s *Store) CreateContainer(c *Container) error {
	if err := validateKeys(c); err != nil {
		return err
	}
	data, err := encodeContainer(c)
	if err != nil {
		return fmt.Errorf("store: container %s: %w", c.ID, err)
	}
	return s.update(func(tx *bolt.Tx) error {
		containers, names, owners := bucket(tx, bucketContainers), bucket(tx, bucketNames), bucket(tx, bucketOwners)
		if containers.Get([]byte(c.ID)) != nil {
			return errdefs.AlreadyExists("container id %s already exists", c.ID)
		}
		if names.Get([]byte(c.Name)) != nil {
			// The holder may be another caller's: its id is not told
			// here (the core adds it for callers who may see it).
			return errdefs.AlreadyExists("container name %q is already in use", c.Name)
		}
		if max := s.opts.MaxContainers; max > 0 && containers.Stats().KeyN >= max {
			return errdefs.ResourceExhausted("the host already has %d containers, the configured maximum", max)
		}
		if max := s.opts.MaxContainersPerOwner; max > 0 && countOwner(owners, c.OwnerUID) >= max {
			return errdefs.ResourceExhausted("uid %d already owns %d containers, the configured maximum", c.OwnerUID, max)
		}
		if err := containers.Put([]byte(c.ID), data); err != nil {
			return err
		}
		if err := names.Put([]byte(c.Name), []byte(c.ID)); err != nil {
			return err
		}
		return owners.Put(ownerKey(c.OwnerUID, c.ID), nil)
	})
}

// UpdateContainer applies fn to the record of id (exact id) and stores the
// result, all in one transaction; fn's error aborts it. fn runs inside the
// write transaction: it must be quick and do no I/O. ID, Name and OwnerUID
// cannot change. events, if any, are appended (see AppendEvent) in the same
// transaction: one commit for a change and what it announces. It returns
// the stored record.
func (s *Store) UpdateContainer(id string, fn func(*Container) error, events ...*nucleusv1.Event) (*Container, error) {
	var out *Container
	err := s.update(func(tx *bolt.Tx) error {
		if err := s.appendEvents(tx, events); err != nil {
			return err
		}
		containers := bucket(tx, bucketContainers)
		c, err := s.getByID(containers, id)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		if c.ID != id || !bytes.Equal(bucket(tx, bucketNames).Get([]byte(c.Name)), []byte(id)) ||
			bucket(tx, bucketOwners).Get(ownerKey(c.OwnerUID, id)) == nil {
			return errdefs.InvalidArgument("container %s: the id, name and owner of a record cannot change", id)
		}
		data, err := encodeContainer(c)
		if err != nil {
			return fmt.Errorf("container %s: %w", id, err)
		}
		out = c
		return containers.Put([]byte(id), data)
	})
	return out, err
}

// GetContainer returns the record whose id or name is idOrName (ids are
// tried first; names never look like ids), or NotFound.
func (s *Store) GetContainer(idOrName string) (*Container, error) {
	var out *Container
	err := s.view(func(tx *bolt.Tx) error {
		id := idOrName
		containers := bucket(tx, bucketContainers)
		if containers.Get([]byte(id)) == nil {
			if v := bucket(tx, bucketNames).Get([]byte(idOrName)); v != nil {
				id = string(v)
			}
		}
		c, err := s.getByID(containers, id)
		out = c
		return err
	})
	return out, err
}

// ListContainers returns copies of the records for which keep returns true
// (all when keep is nil), oldest first. keep sees the store's own copy and
// must not change it.
func (s *Store) ListContainers(keep func(*Container) bool) ([]*Container, error) {
	recs, err := s.ViewContainers(keep)
	for i, c := range recs {
		recs[i] = c.clone()
	}
	return recs, err
}

// ViewContainers is ListContainers without the copies, for callers that
// only read: the records are the store's own (shared with other callers and
// replaced, never changed, when a record is written), so nothing may modify
// them or anything they point to.
func (s *Store) ViewContainers(keep func(*Container) bool) ([]*Container, error) {
	var out []*Container
	err := s.view(func(tx *bolt.Tx) error {
		return bucket(tx, bucketContainers).ForEach(func(k, v []byte) error {
			c, err := s.cache.decode(string(k), v)
			if err != nil {
				return fmt.Errorf("container %s: %w", k, err)
			}
			if keep == nil || keep(c) {
				out = append(out, c)
			}
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// DeleteContainer removes the record of id (exact id) and frees its name;
// NotFound when there is none. events are appended in the same
// transaction.
func (s *Store) DeleteContainer(id string, events ...*nucleusv1.Event) error {
	defer s.cache.forget(id)
	return s.update(func(tx *bolt.Tx) error {
		if err := s.appendEvents(tx, events); err != nil {
			return err
		}
		containers := bucket(tx, bucketContainers)
		c, err := s.getByID(containers, id)
		if err != nil {
			return err
		}
		names := bucket(tx, bucketNames)
		if bytes.Equal(names.Get([]byte(c.Name)), []byte(id)) {
			if err := names.Delete([]byte(c.Name)); err != nil {
				return err
			}
		}
		if err := bucket(tx, bucketOwners).Delete(ownerKey(c.OwnerUID, id)); err != nil {
			return err
		}
		return containers.Delete([]byte(id))
	})
}

// CountByOwner returns how many records uid owns.
func (s *Store) CountByOwner(uid uint32) (int, error) {
	var n int
	err := s.view(func(tx *bolt.Tx) error {
		n = countOwner(bucket(tx, bucketOwners), uid)
		return nil
	})
	return n, err
}

func countOwner(owners *bolt.Bucket, uid uint32) int {
	prefix := ownerKey(uid, "")
	n := 0
	c := owners.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

func (s *Store) getByID(containers *bolt.Bucket, id string) (*Container, error) {
	v := containers.Get([]byte(id))
	if v == nil {
		return nil, errdefs.NotFound("container %q not found", id)
	}
	c, err := s.cache.decode(id, v)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return c.clone(), nil
}

func validateKeys(c *Container) error {
	if !IsID(c.ID) {
		return errdefs.InvalidArgument("container id %q is not 32 lowercase hex characters", c.ID)
	}
	if err := identifiers.Validate("container name", c.Name); err != nil {
		return err
	}
	if IsID(c.Name) {
		return errdefs.InvalidArgument("container name %q looks like a container id", c.Name)
	}
	return nil
}

// IsID reports whether s has the shape of a container id: 32 lowercase hex
// characters.
func IsID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
