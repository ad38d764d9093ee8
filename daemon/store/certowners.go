package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Certificate owners: the owner uid of each TLS client identity, allocated
// once and never reused. The bucket and the meta key are created by the
// first allocation, so stores written before them need no migration.
const (
	bucketCertOwners  = "cert-owners"     // identity key (32 bytes) → owner (4 bytes BE) ‖ subject
	metaNextCertOwner = "next-cert-owner" // 8 bytes BE: the next owner to try
)

// The owner uids given to certificate identities: the odd numbers in
// [2^31+1, 2^32-3]. Local callers never have a uid this high (auth refuses
// socket callers with uid ≥ 2^31), and the owners that the old FNV hash of
// a common name produced (before this allocation existed) were all even,
// so a new owner is never one of theirs.
const (
	FirstCertOwner uint32 = 1<<31 | 1
	LastCertOwner  uint32 = 1<<32 - 3
)

// maxSubject bounds the subject kept beside an owner for people reading
// the store; the key, not the subject, identifies the certificate.
const maxSubject = 1024

// CertOwner returns the owner uid of the certificate identity key (a
// SHA-256, see auth), allocating the next free one in one transaction the
// first time the key is seen. Different keys never share an owner: the
// counter only grows, and an owner that any container record already has
// is skipped (after a rebuilt store has lost this table, the old records
// keep their owners and no new identity gets one of them). subject is kept
// for people reading the store. ResourceExhausted when the range is used up.
func (s *Store) CertOwner(key [32]byte, subject string) (uint32, error) {
	var uid uint32
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		uid, found, err = lookupCertOwner(tx, key)
		return err
	})
	if err != nil || found {
		return uid, err
	}
	if len(subject) > maxSubject {
		subject = subject[:maxSubject]
	}
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		if uid, found, err = lookupCertOwner(tx, key); err != nil || found {
			return err
		}
		b, err := tx.CreateBucketIfNotExists([]byte(bucketCertOwners))
		if err != nil {
			return err
		}
		meta := bucket(tx, bucketMeta)
		next, ok := getU64(meta.Get([]byte(metaNextCertOwner)))
		if !ok || next < uint64(FirstCertOwner) {
			next = uint64(FirstCertOwner)
		}
		for next <= uint64(LastCertOwner) && hasOwner(bucket(tx, bucketOwners), uint32(next)) {
			next += 2
		}
		if next > uint64(LastCertOwner) {
			return errdefs.ResourceExhausted("every owner uid for certificate identities is allocated")
		}
		uid = uint32(next)
		v := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(subject)), uid)
		if err := b.Put(key[:], append(v, subject...)); err != nil {
			return err
		}
		return meta.Put([]byte(metaNextCertOwner), u64(next+2))
	})
	if err != nil {
		return 0, fmt.Errorf("certificate owner of %q: %w", subject, err)
	}
	return uid, nil
}

// lookupCertOwner reads key's owner, if it has one.
func lookupCertOwner(tx *bolt.Tx, key [32]byte) (uid uint32, found bool, err error) {
	b := tx.Bucket([]byte(bucketCertOwners))
	if b == nil {
		return 0, false, nil
	}
	v := b.Get(key[:])
	if v == nil {
		return 0, false, nil
	}
	if uid, err = decodeCertOwner(v); err != nil {
		return 0, false, fmt.Errorf("certificate owner %x: %w", key, err)
	}
	return uid, true, nil
}

func decodeCertOwner(v []byte) (uint32, error) {
	if len(v) < 4 {
		return 0, fmt.Errorf("value of %d bytes, want at least 4", len(v))
	}
	uid := binary.BigEndian.Uint32(v)
	if uid < FirstCertOwner || uid > LastCertOwner || uid%2 == 0 {
		return 0, fmt.Errorf("owner %d is outside the certificate range", uid)
	}
	return uid, nil
}

// hasOwner reports whether any container record has owner uid.
func hasOwner(owners *bolt.Bucket, uid uint32) bool {
	prefix := binary.BigEndian.AppendUint32(nil, uid)
	k, _ := owners.Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// checkCertOwners verifies the certificate-owner table, when there is one:
// well-formed entries, each owner given once.
func checkCertOwners(tx *bolt.Tx) error {
	b := tx.Bucket([]byte(bucketCertOwners))
	if b == nil {
		return nil
	}
	seen := map[uint32]bool{}
	return b.ForEach(func(k, v []byte) error {
		uid, err := decodeCertOwner(v)
		switch {
		case len(k) != 32:
			return fmt.Errorf("certificate owner key %x is not 32 bytes", k)
		case err != nil:
			return fmt.Errorf("certificate owner %x: %w", k, err)
		case seen[uid]:
			return fmt.Errorf("certificate owner %d is given to two identities", uid)
		}
		seen[uid] = true
		return nil
	})
}
