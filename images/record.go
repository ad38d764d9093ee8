package images

import (
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Record is one image as stored: what it is, where it came from and what
// unpacking it skipped. Its Digest (the manifest's) is its identity.
type Record struct {
	// Digest is the manifest digest, "sha256:<hex>".
	Digest string `json:"digest"`
	// References are the names that point at it ("docker.io/library/busybox:1.36",
	// "registry:5000/app@sha256:..."), normalised by NormalizeRef.
	References []string `json:"references,omitempty"`
	// Config is the image's runtime config (Entrypoint, Cmd, Env, User, ...).
	Config ocispec.ImageConfig `json:"config"`
	// ConfigDigest is the digest of the image config blob.
	ConfigDigest string `json:"config_digest"`
	// Layers in order, base first.
	Layers []LayerInfo `json:"layers"`
	// CompressedSize is the sum of the layers' sizes as stored.
	CompressedSize int64 `json:"compressed_size"`
	// UnpackedSize is the bytes of regular files in the unpacked tree.
	UnpackedSize int64 `json:"unpacked_size"`
	// Created is the image's creation time from its config (zero if absent).
	Created time.Time `json:"created,omitzero"`
	// Stored is when this host finished pulling or importing it.
	Stored time.Time `json:"stored"`
	// PulledBy is the uid that first pulled or imported it.
	PulledBy uint32 `json:"pulled_by"`
	// Skipped counts the entries unpacking refused to create.
	Skipped Skipped `json:"skipped,omitzero"`
}

// LayerInfo is one layer of a Record.
type LayerInfo struct {
	Digest    string `json:"digest"`     // of the blob as stored (compressed)
	Size      int64  `json:"size"`       // of the blob
	DiffID    string `json:"diff_id"`    // of the uncompressed tar
	MediaType string `json:"media_type"` // as the manifest named it
}

// Skipped counts the special files unpacking did not create.
type Skipped struct {
	CharDevices  int `json:"char_devices,omitempty"`
	BlockDevices int `json:"block_devices,omitempty"`
	FIFOs        int `json:"fifos,omitempty"`
	Sockets      int `json:"sockets,omitempty"`
	Xattrs       int `json:"xattrs,omitempty"` // xattrs outside the safe set
}

// Total is the number of skipped entries.
func (s Skipped) Total() int {
	return s.CharDevices + s.BlockDevices + s.FIFOs + s.Sockets + s.Xattrs
}

// Records keeps image records (in the daemon, in its bbolt store). Every
// method is atomic; errors carry errdefs kinds (NotFound for a missing
// digest or reference).
type Records interface {
	// Put stores rec, replacing the record with the same Digest, and points
	// each of rec.References at it (moving a reference away from another
	// image drops it from that image's References).
	Put(rec *Record) error
	// Get returns the record of a manifest digest.
	Get(digest string) (*Record, error)
	// GetByRef returns the record a normalised reference points at.
	GetByRef(ref string) (*Record, error)
	// List returns every record, in digest order.
	List() ([]*Record, error)
	// Delete removes the record of digest and every reference to it.
	Delete(digest string) error
}
