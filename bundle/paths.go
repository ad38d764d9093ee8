package bundle

import "path/filepath"

// Paths are where Create puts a container's bundle and secrets, e.g.
// /var/lib/nucleus/containers/<id>/bundle and /run/nucleus/secrets/<id>.
type Paths struct {
	BundleDir  string // on disk, under the daemon's --root
	SecretsDir string // a tmpfs mount point, under the daemon's --state
	// NetNS, when set, is a prepared network namespace (a pinned nsfs file)
	// the sandbox joins instead of getting a new one; the daemon makes one
	// with the loopback up for runsc's own network stack.
	NetNS string
	// HelperDir, when set, is a host directory holding only the daemon's
	// file helper; every sandbox sees it read-only at HelperMountPoint.
	HelperDir string
}

// HelperMountPoint is where the daemon's file helper directory is mounted
// in every sandbox; volumes and secrets may not use it.
const HelperMountPoint = "/.nucleus"

// Dir is a bundle directory.
type Dir string

// ConfigPath is the bundle's config.json.
func (d Dir) ConfigPath() string { return filepath.Join(string(d), configName) }

// RootfsPath is the bundle's rootfs directory (the spec's root.path).
func (d Dir) RootfsPath() string { return filepath.Join(string(d), rootfsDirName) }

// volumesPath holds the pinned bind sources.
func (d Dir) volumesPath() string { return filepath.Join(string(d), volumesDirName) }
