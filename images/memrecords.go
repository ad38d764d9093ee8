package images

import (
	"encoding/json"
	"slices"
	"sync"

	"nucleus.dev/nucleus/internal/errdefs"
)

// MemRecords is an in-memory Records, for tests and tools. Records are copied in and out
// (through JSON, as the bbolt store does), so callers cannot alias them.
type MemRecords struct {
	mu   sync.Mutex
	recs map[string][]byte // digest → JSON record
	refs map[string]string // reference → digest
}

var _ Records = (*MemRecords)(nil)

// NewMemRecords returns an empty in-memory store.
func NewMemRecords() *MemRecords {
	return &MemRecords{recs: map[string][]byte{}, refs: map[string]string{}}
}

// Put implements Records.
func (m *MemRecords) Put(rec *Record) error {
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

func (m *MemRecords) dropRef(digest, ref string) error {
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

// Get implements Records.
func (m *MemRecords) Get(digest string) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(digest)
}

func (m *MemRecords) get(digest string) (*Record, error) {
	b, ok := m.recs[digest]
	if !ok {
		return nil, errdefs.NotFound("image %s not found", digest)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetByRef implements Records.
func (m *MemRecords) GetByRef(ref string) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.refs[ref]
	if !ok {
		return nil, errdefs.NotFound("image %q not found", ref)
	}
	return m.get(d)
}

// List implements Records.
func (m *MemRecords) List() ([]*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.recs))
	for k := range m.recs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*Record, 0, len(keys))
	for _, k := range keys {
		r, err := m.get(k)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Delete implements Records.
func (m *MemRecords) Delete(digest string) error {
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
