// Package imagestest holds test doubles for package images: an in-memory
// Records.
package imagestest

import (
	"encoding/json"
	"slices"
	"sync"

	"nucleus.dev/nucleus/images"
	"nucleus.dev/nucleus/internal/errdefs"
)

// Records is an in-memory images.Records. Records are copied in and out
// (through JSON, as the bbolt store does), so callers cannot alias them.
type Records struct {
	mu   sync.Mutex
	recs map[string][]byte // digest → JSON record
	refs map[string]string // reference → digest
}

var _ images.Records = (*Records)(nil)

// NewRecords returns an empty in-memory store.
func NewRecords() *Records {
	return &Records{recs: map[string][]byte{}, refs: map[string]string{}}
}

// Put implements images.Records.
func (m *Records) Put(rec *images.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ref, d := range m.refs {
		if d == rec.Digest && !slices.Contains(rec.References, ref) {
			delete(m.refs, ref)
		}
	}
	for _, ref := range rec.References {
		if old, ok := m.refs[ref]; ok && old != rec.Digest {
			if err := m.dropRef(old, ref); err != nil {
				return err
			}
		}
		m.refs[ref] = rec.Digest
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	m.recs[rec.Digest] = b
	return nil
}

func (m *Records) dropRef(digest, ref string) error {
	r, err := m.get(digest)
	if err != nil {
		return nil
	}
	r.References = slices.DeleteFunc(r.References, func(s string) bool { return s == ref })
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	m.recs[digest] = b
	return nil
}

// Get implements images.Records.
func (m *Records) Get(digest string) (*images.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(digest)
}

func (m *Records) get(digest string) (*images.Record, error) {
	b, ok := m.recs[digest]
	if !ok {
		return nil, errdefs.NotFound("image %s not found", digest)
	}
	var r images.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetByRef implements images.Records.
func (m *Records) GetByRef(ref string) (*images.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.refs[ref]
	if !ok {
		return nil, errdefs.NotFound("image %q not found", ref)
	}
	return m.get(d)
}

// List implements images.Records.
func (m *Records) List() ([]*images.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.recs))
	for k := range m.recs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*images.Record, 0, len(keys))
	for _, k := range keys {
		r, err := m.get(k)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Delete implements images.Records.
func (m *Records) Delete(digest string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[digest]; !ok {
		return errdefs.NotFound("image %s not found", digest)
	}
	delete(m.recs, digest)
	for ref, d := range m.refs {
		if d == digest {
			delete(m.refs, ref)
		}
	}
	return nil
}
