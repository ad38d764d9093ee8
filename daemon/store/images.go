package store

import (
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/images"
	"nucleus.dev/nucleus/internal/errdefs"
)

// The image buckets are created by the first write (older files lack
// them, which reads treat as empty).
const (
	bucketImages    = "images"     // manifest digest → JSON images.Record
	bucketImageRefs = "image-refs" // normalized reference → manifest digest
)

// ImageRecords returns the store's images.Records.
func (s *Store) ImageRecords() images.Records { return imageRecords{s} }

type imageRecords struct{ s *Store }

var _ images.Records = imageRecords{}

// Put implements images.Records.
func (r imageRecords) Put(rec *images.Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding image record: %w", err)
	}
	return r.s.update(func(tx *bolt.Tx) error {
		imgs, refs, err := imageBuckets(tx)
		if err != nil {
			return err
		}
		for _, ref := range rec.References {
			old := refs.Get([]byte(ref))
			if old != nil && string(old) != rec.Digest {
				if err := dropRef(imgs, string(old), ref); err != nil {
					return err
				}
			}
			if err := refs.Put([]byte(ref), []byte(rec.Digest)); err != nil {
				return err
			}
		}
		return imgs.Put([]byte(rec.Digest), data)
	})
}

func imageBuckets(tx *bolt.Tx) (imgs, refs *bolt.Bucket, err error) {
	if imgs, err = tx.CreateBucketIfNotExists([]byte(bucketImages)); err != nil {
		return nil, nil, err
	}
	refs, err = tx.CreateBucketIfNotExists([]byte(bucketImageRefs))
	return imgs, refs, err
}

// dropRef removes ref from the References of the record of digest.
func dropRef(imgs *bolt.Bucket, digest, ref string) error {
	rec, err := decodeImage(imgs.Get([]byte(digest)))
	if err != nil || rec == nil {
		return err
	}
	rec.References = slices.DeleteFunc(rec.References, func(s string) bool { return s == ref })
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return imgs.Put([]byte(digest), data)
}

func decodeImage(data []byte) (*images.Record, error) {
	if data == nil {
		return nil, nil
	}
	var rec images.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decoding image record: %w", err)
	}
	return &rec, nil
}

// Get implements images.Records.
func (r imageRecords) Get(digest string) (rec *images.Record, err error) {
	err = r.s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucketImages)); b != nil {
			rec, err = decodeImage(b.Get([]byte(digest)))
		}
		return err
	})
	if err == nil && rec == nil {
		err = errdefs.NotFound("image %s not found", digest)
	}
	return rec, err
}

// GetByRef implements images.Records.
func (r imageRecords) GetByRef(ref string) (rec *images.Record, err error) {
	err = r.s.view(func(tx *bolt.Tx) error {
		refs, imgs := tx.Bucket([]byte(bucketImageRefs)), tx.Bucket([]byte(bucketImages))
		if refs == nil || imgs == nil {
			return nil
		}
		if d := refs.Get([]byte(ref)); d != nil {
			rec, err = decodeImage(imgs.Get(d))
		}
		return err
	})
	if err == nil && rec == nil {
		err = errdefs.NotFound("image %q not found", ref)
	}
	return rec, err
}

// List implements images.Records.
func (r imageRecords) List() (out []*images.Record, err error) {
	err = r.s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketImages))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			rec, err := decodeImage(v)
			if err == nil {
				out = append(out, rec)
			}
			return err
		})
	})
	return out, err
}

// Delete implements images.Records.
func (r imageRecords) Delete(digest string) error {
	return r.s.update(func(tx *bolt.Tx) error {
		imgs, refs, err := imageBuckets(tx)
		if err != nil {
			return err
		}
		if imgs.Get([]byte(digest)) == nil {
			return errdefs.NotFound("image %s not found", digest)
		}
		var drop [][]byte
		if err := refs.ForEach(func(k, v []byte) error {
			if string(v) == digest {
				drop = append(drop, slices.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range drop {
			if err := refs.Delete(k); err != nil {
				return err
			}
		}
		return imgs.Delete([]byte(digest))
	})
}
