package images

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// recover empties tmp/ and removes the trees and blobs no record
// references: what a pull, import or removal killed midway left behind.
func (s *Store) recover() error {
	if err := s.emptyDir(s.tmpDir(), nil); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keep, err := s.referencedLocked()
	if err != nil {
		return fmt.Errorf("images: list records: %w", err)
	}
	if err := s.emptyDir(s.rootfsDir(), func(name string) bool { return keep["sha256:"+name] }); err != nil {
		return err
	}
	return s.emptyDir(s.blobDir(), func(name string) bool { return keep["sha256:"+name] })
}

// emptyDir removes every entry of dir except those keep reports true for,
// logging what it removes.
func (s *Store) emptyDir(dir string, keep func(string) bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	for _, e := range ents {
		if keep != nil && keep(e.Name()) && !strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s.log.Info("removing what an interrupted pull, import or removal left", zap.String("path", filepath.Join(dir, e.Name())))
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("images: clean up: %w", err)
		}
	}
	return nil
}
