package images

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Remove removes a reference, or an image with all its references. Given a
// reference of an image that has others, only that reference goes (as
// docker rmi untags). An image some container uses is refused
// (FailedPrecondition) unless opt.Force, and one a running container or a
// snapshot uses always is. A non-root caller may remove only images it
// pulled and that no other uid's container or snapshot uses
// (PermissionDenied).
func (s *Store) Remove(refOrDigest string, opt RemoveOptions) (*RemoveResult, error) {
	rec, err := s.Get(refOrDigest)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, err = s.recs.Get(rec.Digest); err != nil { // fresh, under mu
		return nil, err
	}
	use := usageOf(opt.Usage, rec.Digest)
	if err := mayRemove(rec, opt.Caller, use); err != nil {
		return nil, err
	}
	ref, _ := NormalizeRef(refOrDigest)
	if !opt.Force && len(rec.References) > 1 && slices.Contains(rec.References, ref) {
		rec.References = slices.DeleteFunc(rec.References, func(r string) bool { return r == ref })
		if err := s.recs.Put(rec); err != nil {
			return nil, err
		}
		return &RemoveResult{Untagged: []string{ref}}, nil
	}
	switch {
	case use.Snapshots > 0:
		return nil, errdefs.FailedPrecondition("image %s is held by %d snapshot(s), whose restores need it; remove the snapshot(s) first (force does not apply)", short(rec.Digest), use.Snapshots)
	case use.Running > 0:
		return nil, errdefs.FailedPrecondition("image %s is used by %d running container(s)", short(rec.Digest), use.Running)
	case use.Containers > 0 && !opt.Force:
		return nil, errdefs.FailedPrecondition("image %s is used by %d container(s); remove them or force", short(rec.Digest), use.Containers)
	}
	if err := s.deleteLocked(rec); err != nil {
		return nil, err
	}
	return &RemoveResult{Untagged: rec.References, Deleted: rec}, nil
}

// Prune removes every image no container or snapshot uses (a non-root
// caller: those it pulled) and returns them.
func (s *Store) Prune(caller Caller, usage UsageFunc) ([]*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.recs.List()
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, rec := range all {
		if u := usageOf(usage, rec.Digest); u.Containers > 0 || u.Snapshots > 0 || (!caller.IsRoot() && rec.PulledBy != caller.UID) {
			continue
		}
		if err := s.deleteLocked(rec); err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func usageOf(f UsageFunc, digest string) Usage {
	if f == nil {
		return Usage{}
	}
	return f(digest)
}

func mayRemove(rec *Record, c Caller, use Usage) error {
	if c.IsRoot() {
		return nil
	}
	if rec.PulledBy != c.UID {
		return errdefs.PermissionDenied("image %s was pulled by another user; only they or root may remove it", short(rec.Digest))
	}
	for _, o := range use.Owners {
		if o != c.UID {
			return errdefs.PermissionDenied("image %s is used by another user's container or snapshot", short(rec.Digest))
		}
	}
	return nil
}

// deleteLocked deletes the record first (the commit point, as for a
// pull), then the tree, then the blobs no other record or in-flight pull
// needs. A crash in between leaves files that Open removes.
func (s *Store) deleteLocked(rec *Record) error {
	if err := s.recs.Delete(rec.Digest); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("images: delete record: %w", err)
	}
	if err := s.removeTree(s.RootFS(rec)); err != nil {
		return err
	}
	keep, err := s.referencedLocked()
	if err != nil {
		return err
	}
	for _, d := range blobsOf(rec) {
		if !keep[d] {
			if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("images: remove blob: %w", err)
			}
		}
	}
	return nil
}

// removeTree renames a tree into tmp/ (atomic: it is gone from rootfs/ at
// once) and removes it there.
func (s *Store) removeTree(dir string) error {
	trash, err := os.MkdirTemp(s.tmpDir(), "remove-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(trash)
	err = os.Rename(dir, trash+"/tree")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("images: remove tree: %w", err)
	}
	return nil
}

// referencedLocked is the set of blobs records and in-flight commits use.
func (s *Store) referencedLocked() (map[string]bool, error) {
	all, err := s.recs.List()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for d := range s.pinned {
		keep[d] = true
	}
	for _, r := range all {
		for _, d := range blobsOf(r) {
			keep[d] = true
		}
	}
	return keep, nil
}

func blobsOf(r *Record) []string {
	out := []string{r.Digest, r.ConfigDigest}
	for _, l := range r.Layers {
		out = append(out, l.Digest)
	}
	return out
}
