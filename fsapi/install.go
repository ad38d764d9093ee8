package fsapi

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// InstallHelper copies the helper binary at src (nucleus-fs next to
// nucleusd) into dir, a directory of its own that sandboxes mount
// read-only (bundle.Paths.HelperDir), and returns dir. The copy is
// renamed into place, so running sandboxes keep the file they have.
func InstallHelper(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("file helper: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("file helper directory: %w", err)
	}
	// Sandboxes in user namespaces must traverse it: 0755, whatever the umask.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("file helper directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".install-*")
	if err != nil {
		return "", fmt.Errorf("file helper: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return "", fmt.Errorf("copying the file helper: %w", err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, HelperName)); err != nil {
		return "", fmt.Errorf("installing the file helper: %w", err)
	}
	return dir, nil
}
