package images

import (
	"fmt"
	"os"
	"slices"
)

// pin keeps src's blobs from a concurrent removal's cleanup until unpin.
func (s *Store) pin(src *imageSource) (unpin func()) {
	ds := []string{src.digest, string(src.parsed.Config.Digest)}
	for _, l := range src.parsed.Layers {
		ds = append(ds, string(l.Digest))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pinned == nil {
		s.pinned = map[string]int{}
	}
	for _, d := range ds {
		s.pinned[d]++
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, d := range ds {
			if s.pinned[d]--; s.pinned[d] <= 0 {
				delete(s.pinned, d)
			}
		}
	}
}

// addRefs points refs at the existing record of digest and returns it.
func (s *Store) addRefs(digest string, refs []string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.recs.Get(digest)
	if err != nil {
		return nil, err
	}
	merged := mergeRefs(rec.References, refs)
	if len(merged) == len(rec.References) {
		return rec, nil
	}
	rec.References = merged
	if err := s.recs.Put(rec); err != nil {
		return nil, fmt.Errorf("images: store record: %w", err)
	}
	return rec, nil
}

func mergeRefs(a, b []string) []string {
	out := slices.Clone(a)
	for _, r := range b {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// dropUnreferenced removes src's blobs that no record and no other
// in-flight commit needs.
func (s *Store) dropUnreferenced(src *imageSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep, err := s.referencedLocked()
	if err != nil {
		return // Open cleans up
	}
	ds := []string{src.digest, string(src.parsed.Config.Digest)}
	for _, l := range src.parsed.Layers {
		ds = append(ds, string(l.Digest))
	}
	for _, d := range ds {
		if _, ok := asDigest(d); ok && !keep[d] {
			_ = os.Remove(s.blobPath(d))
		}
	}
}
