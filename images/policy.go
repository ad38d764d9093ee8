package images

import (
	"time"
)

// Policy is the operator's [images] policy. Zero caps take the defaults
// of DefaultPolicy (see WithDefaults).
type Policy struct {
	// MaxCompressedBytes caps the sum of an image's compressed layers.
	MaxCompressedBytes int64
	// MaxUnpackedBytes caps the bytes of regular files written while
	// unpacking all of an image's layers.
	MaxUnpackedBytes int64
	// MaxLayers caps the number of layers a manifest may list; checked
	// before any layer is downloaded.
	MaxLayers int
	// MaxFilesPerLayer caps the tar entries of one layer.
	MaxFilesPerLayer int
	// PullTimeout bounds a whole pull (manifest, config, every layer, unpack).
	PullTimeout time.Duration
	// AllowedRegistries lists the registries (host[:port], "docker.io" for
	// Docker Hub) non-root callers may pull from. When set, root is limited
	// to them too; when empty, root may pull from any and non-root from none.
	AllowedRegistries []string
	// Mirrors maps a registry to mirrors tried in order before it.
	Mirrors map[string][]string
	// Insecure lists registries reached over plain http (and TLS without
	// verification); no other registry is.
	Insecure []string
	// AuthFile is a docker config.json with per-registry credentials; empty
	// means anonymous pulls.
	AuthFile string
	// Parallel is how many layers download at once.
	Parallel int
	// MountPoints are directories directly under "/" that every unpacked
	// tree gets empty (root-owned, 0755), replacing whatever its layers put
	// there: the daemon mounts its own things on them, and the tree is
	// shared and read-only, so they must exist before any container runs.
	MountPoints []string
}

// DefaultPolicy is the policy used for every zero field.
func DefaultPolicy() Policy {
	return Policy{
		MaxCompressedBytes: 8 << 30,
		MaxUnpackedBytes:   16 << 30,
		MaxLayers:          128,
		MaxFilesPerLayer:   500_000,
		PullTimeout:        30 * time.Minute,
		Parallel:           4,
	}
}

// WithDefaults returns p with each zero cap taken from DefaultPolicy.
func (p Policy) WithDefaults() Policy {
	d := DefaultPolicy()
	if p.MaxCompressedBytes <= 0 {
		p.MaxCompressedBytes = d.MaxCompressedBytes
	}
	if p.MaxUnpackedBytes <= 0 {
		p.MaxUnpackedBytes = d.MaxUnpackedBytes
	}
	if p.MaxLayers <= 0 {
		p.MaxLayers = d.MaxLayers
	}
	if p.MaxFilesPerLayer <= 0 {
		p.MaxFilesPerLayer = d.MaxFilesPerLayer
	}
	if p.PullTimeout <= 0 {
		p.PullTimeout = d.PullTimeout
	}
	if p.Parallel <= 0 {
		p.Parallel = d.Parallel
	}
	return p
}

// Caller is who asks for a pull, an import or a removal; the daemon fills
// it from the kernel's peer credentials, never from request fields.
type Caller struct {
	UID uint32
}

// IsRoot reports whether the caller is uid 0.
func (c Caller) IsRoot() bool { return c.UID == 0 }
