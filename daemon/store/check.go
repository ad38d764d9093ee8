package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// initialise gives a file without buckets (new, or created by a crash
// before the first transaction) its buckets and meta. A file with some
// buckets is left to check.
func initialise(db *bolt.DB, firstSeq uint64) (reason string, err error) {
	ferr := guard(func() error {
		var empty bool
		if err = db.View(func(tx *bolt.Tx) error { empty = hasNoBuckets(tx); return nil }); err != nil || !empty {
			return nil
		}
		err = db.Update(func(tx *bolt.Tx) error {
			for _, name := range allBuckets() {
				if _, err := tx.CreateBucket([]byte(name)); err != nil {
					return err
				}
			}
			meta := bucket(tx, bucketMeta)
			if err := meta.Put([]byte(metaSchema), u64(schemaVersion)); err != nil {
				return err
			}
			return meta.Put([]byte(metaNextSeq), u64(firstSeq))
		})
		return nil
	})
	switch {
	case ferr != nil:
		return "initialise: " + ferr.Error(), nil
	case isOSError(err):
		return "", fmt.Errorf("store: initialise: %w", ioError(err))
	case err != nil:
		return "initialise: " + err.Error(), nil
	}
	return "", nil
}

// check verifies the file against its own size, the layout and every
// record, then runs bbolt's page-level check. A non-empty reason means
// corrupt; err means a store from a newer nucleusd (or an I/O failure).
func check(db *bolt.DB, path string) (reason string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("store: %w", ioError(err))
	}
	var cerr error
	ferr := guard(func() error {
		cerr = db.View(func(tx *bolt.Tx) error {
			if tx.Size() > fi.Size() {
				return fmt.Errorf("file is %d bytes but its meta page needs %d (truncated)", fi.Size(), tx.Size())
			}
			if hasNoBuckets(tx) {
				return nil // created by bbolt, not yet initialised
			}
			if err := checkLayout(tx); err != nil {
				return err
			}
			if err := checkRecords(tx); err != nil {
				return err
			}
			if err := checkCertOwners(tx); err != nil {
				return err
			}
			// Drain every error: the checker goroutine reads the tx until
			// it closes the channel, so returning early would let it read
			// after the rollback.
			var first error
			for err := range tx.Check() {
				if first == nil {
					first = fmt.Errorf("bbolt check: %w", err)
				}
			}
			return first
		})
		return nil
	})
	switch {
	case ferr != nil:
		return ferr.Error(), nil
	case errors.Is(cerr, errdefs.ErrFailedPrecondition):
		return "", cerr
	case cerr != nil:
		return cerr.Error(), nil
	}
	return "", nil
}

func hasNoBuckets(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k == nil
}

func checkLayout(tx *bolt.Tx) error {
	for _, name := range allBuckets() {
		if bucket(tx, name) == nil {
			return fmt.Errorf("bucket %q missing", name)
		}
	}
	meta := bucket(tx, bucketMeta)
	v, ok := getU64(meta.Get([]byte(metaSchema)))
	switch {
	case !ok:
		return errors.New("schema version missing")
	case v > schemaVersion:
		return fmt.Errorf("store: schema version %d was written by a newer nucleusd (this one reads %d): %w", v, schemaVersion, errdefs.ErrFailedPrecondition)
	case v < schemaVersion:
		return fmt.Errorf("unknown schema version %d", v)
	}
	next, ok := getU64(meta.Get([]byte(metaNextSeq)))
	if !ok || next == 0 {
		return errors.New("next event sequence missing")
	}
	if last, _ := bucket(tx, bucketEvents).Cursor().Last(); last != nil {
		if seq, ok := getU64(last); !ok || seq >= next {
			return fmt.Errorf("event key %x is not below the next sequence %d", last, next)
		}
	}
	return nil
}

// checkRecords decodes every record and cross-checks the indexes.
func checkRecords(tx *bolt.Tx) error {
	names, owners := bucket(tx, bucketNames), bucket(tx, bucketOwners)
	err := bucket(tx, bucketContainers).ForEach(func(k, v []byte) error {
		c, err := decodeContainer(v)
		if err != nil {
			return fmt.Errorf("container %x: %w", k, err)
		}
		if c.ID != string(k) || !bytes.Equal(names.Get([]byte(c.Name)), k) || owners.Get(ownerKey(c.OwnerUID, c.ID)) == nil {
			return fmt.Errorf("container %x: record and indexes disagree", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := names.ForEach(func(k, v []byte) error {
		if bucket(tx, bucketContainers).Get(v) == nil {
			return fmt.Errorf("name %q points to missing container %x", k, v)
		}
		return nil
	}); err != nil {
		return err
	}
	return bucket(tx, bucketEvents).ForEach(func(k, v []byte) error {
		if _, ok := getU64(k); !ok {
			return fmt.Errorf("event key %x is not a sequence", k)
		}
		if err := proto.Unmarshal(v, &nucleusv1.Event{}); err != nil {
			return fmt.Errorf("event %x: %w", k, err)
		}
		return nil
	})
}
