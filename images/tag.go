package images

// Tag points ref (normalised) at the stored image refOrDigest names, taking
// it from any image that had it, as docker tag does, and returns the
// updated record. It changes only names, so it checks no caller: the
// daemon decides who may tag.
func (s *Store) Tag(refOrDigest, ref string) (*Record, error) {
	norm, err := NormalizeRef(ref)
	if err != nil {
		return nil, err
	}
	rec, err := s.Get(refOrDigest)
	if err != nil {
		return nil, err
	}
	return s.addRefs(rec.Digest, []string{norm})
}
