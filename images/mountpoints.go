package images

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// makeMountPoints replaces each of names (one path component under the
// tree's "/") in the unpacked tree dir with an empty root-owned 0755
// directory. The layers are applied by then: whatever they put there (a
// file, a symlink out of the tree, a populated directory) is removed, never
// followed: RemoveAll and Mkdir act on dir's own entry.
func makeMountPoints(dir string, names []string) error {
	for _, name := range names {
		base := strings.TrimPrefix(name, "/")
		if base == "" || strings.Contains(base, "/") || base == "." || base == ".." {
			return fmt.Errorf("images: mount point %q must be one directory directly under /", name)
		}
		p := filepath.Join(dir, base)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("images: clearing mount point %s: %w", name, err)
		}
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("images: mount point %s: %w", name, err)
		}
		if err := os.Chmod(p, 0o755); err != nil { // past the umask
			return err
		}
	}
	return nil
}
