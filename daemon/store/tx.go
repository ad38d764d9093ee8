package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
)

// update runs fn in a write transaction. errdefs errors from fn pass
// through; others (bbolt, the disk) are wrapped, a full disk as
// ResourceExhausted. Nothing of a failed transaction is kept.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return wrapTx(s.db.Update(fn))
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return wrapTx(s.db.View(fn))
}

func wrapTx(err error) error {
	if err == nil || errdefs.Kind(err) != errdefs.ErrInternal {
		return err
	}
	return fmt.Errorf("store: %w", ioError(err))
}
