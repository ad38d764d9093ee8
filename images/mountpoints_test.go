package images

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMountPointsReplaceWhatLayersPut: whatever an image put at a reserved
// mount point (a symlink out of the tree, a file, a populated directory)
// is replaced by an empty directory, and nothing outside the tree is
// touched through it.
func TestMountPointsReplaceWhatLayersPut(t *testing.T) {
	outside := t.TempDir()
	canary := filepath.Join(outside, "canary")
	if err := os.WriteFile(canary, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, plant := range map[string]func(p string) error{
		"symlink": func(p string) error { return os.Symlink(outside, p) },
		"file":    func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) },
		"dir": func(p string) error {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(p, "f"), []byte("x"), 0o644)
		},
		"nothing": func(string) error { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			tree := t.TempDir()
			if err := plant(filepath.Join(tree, ".nucleus")); err != nil {
				t.Fatal(err)
			}
			if err := makeMountPoints(tree, []string{"/.nucleus"}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(filepath.Join(tree, ".nucleus"))
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
				t.Fatalf("mount point: %v %v", fi, err)
			}
			if entries, _ := os.ReadDir(filepath.Join(tree, ".nucleus")); len(entries) != 0 {
				t.Fatalf("mount point not empty: %v", entries)
			}
			if data, err := os.ReadFile(canary); err != nil || string(data) != "keep" {
				t.Fatalf("outside the tree changed: %q %v", data, err)
			}
		})
	}
	if err := makeMountPoints(t.TempDir(), []string{"/a/b"}); err == nil {
		t.Fatal("a nested mount point was accepted")
	}
}
