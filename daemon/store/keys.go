package store

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// Buckets and meta keys. Changing any of them needs a schema migration.
const (
	bucketContainers = "containers" // id → JSON record
	bucketNames      = "names"      // name → id
	bucketOwners     = "owners"     // uid (4 bytes BE) ‖ id → empty
	bucketEvents     = "events"     // sequence (8 bytes BE) → proto Event
	bucketMeta       = "meta"       // the keys below

	metaSchema  = "schema"   // 8 bytes BE: schema version
	metaNextSeq = "next-seq" // 8 bytes BE: the next event sequence
)

// schemaVersion is the layout this code reads and writes.
const schemaVersion = 1

func allBuckets() []string {
	return []string{bucketContainers, bucketNames, bucketOwners, bucketEvents, bucketMeta}
}

// bucket returns a top-level bucket; Open guarantees they all exist.
func bucket(tx *bolt.Tx, name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// getU64 decodes an 8-byte big-endian value; ok is false when it is not one.
func getU64(b []byte) (v uint64, ok bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

func ownerKey(uid uint32, id string) []byte {
	b := make([]byte, 4, 4+len(id))
	binary.BigEndian.PutUint32(b, uid)
	return append(b, id...)
}
