package store

import (
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/images"
	"nucleus.dev/nucleus/internal/errdefs"
)

// Image records. Like the certificate owners, the buckets are created by
// the first write, so a store written before images existed opens as is
// (no schema bump) and reads as holding no images.
const (
	bucketImages    = "images"     // manifest digest → JSON images.Record
	bucketImageRefs = "image-refs" // normalised reference → manifest digest
)

// ImageRecords keeps image records in the store; it implements
// images.Records.
type ImageRecords struct{ s *Store }

var _ images.Records = ImageRecords{}

// Images returns the store's image records.
func (s *Store) Images() ImageRecords { return ImageRecords{s: s} }

// Put implements images.Records: it stores rec and points its references
// at it, taking each away from the image that had it, in one transaction.
func (r ImageRecords) Put(rec *images.Record) error {
	if rec == nil || rec.Digest == "" {
		return errdefs.InvalidArgument("image record without a digest")
	}
	return r.s.update(func(tx *bolt.Tx) error {
		recs, err := tx.CreateBucketIfNotExists([]byte(bucketImages))
		if err != nil {
			return err
		}
		refs, err := tx.CreateBucketIfNotExists([]byte(bucketImageRefs))
		if err != nil {
			return err
		}
		// References this record no longer lists stop pointing at it.
		if old, err := getImage(recs, rec.Digest); err == nil {
			for _, ref := range old.References {
				if !slices.Contains(rec.References, ref) {
					if err := refs.Delete([]byte(ref)); err != nil {
						return err
					}
				}
			}
		}
		for _, ref := range rec.References {
			prev := string(refs.Get([]byte(ref)))
			if prev != "" && prev != rec.Digest {
				if err := dropImageRef(recs, prev, ref); err != nil {
					return err
				}
			}
			if err := refs.Put([]byte(ref), []byte(rec.Digest)); err != nil {
				return err
			}
		}
		return putImage(recs, rec)
	})
}

// Get implements images.Records.
func (r ImageRecords) Get(digest string) (*images.Record, error) {
	var rec *images.Record
	err := r.s.view(func(tx *bolt.Tx) error {
		recs := tx.Bucket([]byte(bucketImages))
		if recs == nil {
			return errdefs.NotFound("image %s not found", digest)
		}
		var err error
		rec, err = getImage(recs, digest)
		return err
	})
	return rec, err
}

// GetByRef implements images.Records.
func (r ImageRecords) GetByRef(ref string) (*images.Record, error) {
	var rec *images.Record
	err := r.s.view(func(tx *bolt.Tx) error {
		recs, refs := tx.Bucket([]byte(bucketImages)), tx.Bucket([]byte(bucketImageRefs))
		if recs == nil || refs == nil || refs.Get([]byte(ref)) == nil {
			return errdefs.NotFound("image %q not found", ref)
		}
		var err error
		rec, err = getImage(recs, string(refs.Get([]byte(ref))))
		return err
	})
	return rec, err
}

// List implements images.Records (digest order).
func (r ImageRecords) List() ([]*images.Record, error) {
	var out []*images.Record
	err := r.s.view(func(tx *bolt.Tx) error {
		recs := tx.Bucket([]byte(bucketImages))
		if recs == nil {
			return nil
		}
		return recs.ForEach(func(k, _ []byte) error {
			rec, err := getImage(recs, string(k))
			if err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// Delete implements images.Records.
func (r ImageRecords) Delete(digest string) error {
	return r.s.update(func(tx *bolt.Tx) error {
		recs, refs := tx.Bucket([]byte(bucketImages)), tx.Bucket([]byte(bucketImageRefs))
		if recs == nil {
			return errdefs.NotFound("image %s not found", digest)
		}
		rec, err := getImage(recs, digest)
		if err != nil {
			return err
		}
		for _, ref := range rec.References {
			if refs != nil && string(refs.Get([]byte(ref))) == digest {
				if err := refs.Delete([]byte(ref)); err != nil {
					return err
				}
			}
		}
		return recs.Delete([]byte(digest))
	})
}

func getImage(recs *bolt.Bucket, digest string) (*images.Record, error) {
	v := recs.Get([]byte(digest))
	if v == nil {
		return nil, errdefs.NotFound("image %s not found", digest)
	}
	var rec images.Record
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("image record %s is corrupt: %v: %w", digest, err, errdefs.ErrInternal)
	}
	return &rec, nil
}

func putImage(recs *bolt.Bucket, rec *images.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return recs.Put([]byte(rec.Digest), b)
}

// dropImageRef removes ref from the References of the image digest.
func dropImageRef(recs *bolt.Bucket, digest, ref string) error {
	rec, err := getImage(recs, digest)
	if err != nil {
		return nil // the index pointed at a missing record: nothing to fix
	}
	rec.References = slices.DeleteFunc(rec.References, func(s string) bool { return s == ref })
	return putImage(recs, rec)
}
