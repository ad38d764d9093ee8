package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/snapshots"
)

// Snapshot records: id → JSON snapshots.Record. The bucket is created by
// the first write and a missing one reads as empty, so a store written
// before snapshots existed opens unchanged (no schema bump).
const bucketSnapshots = "snapshots"

var _ snapshots.Records = (*Store)(nil)

// PutSnapshot implements snapshots.Records.
func (s *Store) PutSnapshot(rec *snapshots.Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding snapshot %s: %w", rec.ID, err)
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketSnapshots))
		if err != nil {
			return err
		}
		if b.Get([]byte(rec.ID)) != nil {
			return errdefs.AlreadyExists("snapshot %s exists", rec.ID)
		}
		err = b.ForEach(func(_, v []byte) error {
			var other snapshots.Record
			if json.Unmarshal(v, &other) == nil && other.OwnerUID == rec.OwnerUID && other.Name == rec.Name {
				return errdefs.AlreadyExists("you have a snapshot named %q", rec.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return b.Put([]byte(rec.ID), data)
	})
}

// GetSnapshot implements snapshots.Records.
func (s *Store) GetSnapshot(id string) (*snapshots.Record, error) {
	var rec *snapshots.Record
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketSnapshots))
		var v []byte
		if b != nil {
			v = b.Get([]byte(id))
		}
		if v == nil {
			return errdefs.NotFound("snapshot %q not found", id)
		}
		rec = new(snapshots.Record)
		return json.Unmarshal(v, rec)
	})
	return rec, err
}

// ListSnapshots implements snapshots.Records.
func (s *Store) ListSnapshots() ([]*snapshots.Record, error) {
	var out []*snapshots.Record
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketSnapshots))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			rec := new(snapshots.Record)
			if err := json.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("decoding snapshot %s: %w", k, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// UpdateSnapshot implements snapshots.Records.
func (s *Store) UpdateSnapshot(rec *snapshots.Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding snapshot %s: %w", rec.ID, err)
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketSnapshots))
		if b == nil || b.Get([]byte(rec.ID)) == nil {
			return errdefs.NotFound("snapshot %q not found", rec.ID)
		}
		return b.Put([]byte(rec.ID), data)
	})
}

// DeleteSnapshot implements snapshots.Records.
func (s *Store) DeleteSnapshot(id string) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketSnapshots))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(id))
	})
}
