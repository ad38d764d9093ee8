package store

import (
	"bytes"
	"maps"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"
)

// decodeCache keeps the decoded form of each record next to the bytes it
// was decoded from: a record whose stored bytes are unchanged is not
// decoded again (decoding dominated List). decode returns the cached record
// itself: the store copies it (clone) before a caller may change it, or
// hands it out read-only (ViewContainers).
type decodeCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	raw []byte
	c   *Container
}

// decode returns the record stored as raw under id.
func (dc *decodeCache) decode(id string, raw []byte) (*Container, error) {
	dc.mu.Lock()
	e, ok := dc.entries[id]
	dc.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		return e.c, nil
	}
	c, err := decodeContainer(raw)
	if err != nil {
		return nil, err
	}
	dc.mu.Lock()
	if dc.entries == nil {
		dc.entries = map[string]cacheEntry{}
	}
	// raw belongs to bbolt and is valid only inside the transaction.
	dc.entries[id] = cacheEntry{raw: bytes.Clone(raw), c: c}
	dc.mu.Unlock()
	return c, nil
}

func (dc *decodeCache) forget(id string) {
	dc.mu.Lock()
	delete(dc.entries, id)
	dc.mu.Unlock()
}

// clone is a deep copy of c. A new reference-typed field of Container must
// be copied here too.
func (c *Container) clone() *Container {
	out := *c
	if c.Spec != nil {
		out.Spec = proto.CloneOf(c.Spec)
	}
	if c.Exit != nil {
		ex := *c.Exit
		out.Exit = &ex
	}
	out.Labels = maps.Clone(c.Labels)
	out.Warnings = slices.Clone(c.Warnings)
	return &out
}
