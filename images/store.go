package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Store is the image store rooted at one directory. Its methods are safe
// for concurrent use.
type Store struct {
	root string
	recs Records
	pol  Policy
	log  *zap.Logger

	// mu orders commits and removals: a record is put, and blobs and trees
	// no record references are removed, under it.
	mu sync.Mutex
	// pulls shares one pull of a reference, blobs one download of a digest,
	// unpacks one unpack of a manifest between concurrent callers.
	pulls, blobs, unpacks singleflight.Group
	// pinned counts the blobs in-flight pulls and imports need (under mu).
	pinned map[string]int
}

// Open opens (creating it, mode 0711) the store at root and removes what a
// crashed pull, import or removal left behind: everything in tmp/, and the
// trees and blobs no record references.
func Open(root string, recs Records, pol Policy, log *zap.Logger) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Store{root: root, recs: recs, pol: pol.WithDefaults(), log: log}
	for _, d := range []string{root, s.blobDir(), s.rootfsDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("images: create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, fmt.Errorf("images: chmod %s: %w", d, err)
		}
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	return s, nil
}

// Policy returns the policy in force (with defaults filled in).
func (s *Store) Policy() Policy { return s.pol }

// Get returns the record of a reference ("busybox", "registry:5000/app:v1",
// "name@sha256:...") or of a manifest digest ("sha256:...", or a unique
// prefix of its hex of at least 12 characters).
func (s *Store) Get(refOrDigest string) (*Record, error) {
	if refOrDigest == "" {
		return nil, errdefs.InvalidArgument("image: empty reference")
	}
	if d, ok := asDigest(refOrDigest); ok {
		return s.recs.Get(d)
	}
	if isHexPrefix(refOrDigest) {
		if rec, err := s.byPrefix(refOrDigest); err == nil || !errors.Is(err, errdefs.ErrNotFound) {
			return rec, err
		}
	}
	ref, err := NormalizeRef(refOrDigest)
	if err != nil {
		return nil, err
	}
	rec, err := s.recs.GetByRef(ref)
	if errors.Is(err, errdefs.ErrNotFound) {
		if d, ok := refDigest(ref); ok {
			return s.recs.Get(d)
		}
		return nil, errdefs.NotFound("image %q not found", refOrDigest)
	}
	return rec, err
}

// List returns every image record.
func (s *Store) List() ([]*Record, error) { return s.recs.List() }

// RootFS is the read-only unpacked tree of rec that containers use as their
// root (lower layer). It exists as long as rec's record does.
func (s *Store) RootFS(rec *Record) string {
	return filepath.Join(s.rootfsDir(), strings.TrimPrefix(rec.Digest, "sha256:"))
}

func (s *Store) byPrefix(prefix string) (*Record, error) {
	all, err := s.recs.List()
	if err != nil {
		return nil, err
	}
	var found *Record
	for _, r := range all {
		if strings.HasPrefix(strings.TrimPrefix(r.Digest, "sha256:"), prefix) {
			if found != nil {
				return nil, errdefs.InvalidArgument("image id %q is ambiguous", prefix)
			}
			found = r
		}
	}
	if found == nil {
		return nil, errdefs.NotFound("image %q not found", prefix)
	}
	return found, nil
}

func (s *Store) blobDir() string   { return filepath.Join(s.root, "blobs", "sha256") }
func (s *Store) rootfsDir() string { return filepath.Join(s.root, "rootfs") }
func (s *Store) tmpDir() string    { return filepath.Join(s.root, "tmp") }
