package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"nucleus.dev/nucleus/internal/errdefs"
)

// maxSmallBlob caps manifests, indexes and configs read into memory.
const maxSmallBlob = 8 << 20

// imageSource is one image on its way in, whoever fetched it: a registry
// (pull) or a tar (import). Its manifest and config are in memory and
// already checked against their digests; layers are opened on demand.
type imageSource struct {
	refs     []string
	manifest []byte // raw manifest, hashing to digest
	digest   string
	config   []byte // raw config, hashing to the manifest's config digest
	parsed   ocispec.Manifest
	image    ocispec.Image
	layers   []layerSource
}

type layerSource struct {
	desc ocispec.Descriptor // digest "" when only the content decides it (docker save)
	open func(ctx context.Context) (io.ReadCloser, error)
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// parseManifest decodes a raw manifest and applies the caps that need no
// download: layer count and compressed size.
func parseManifest(raw []byte, pol Policy) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if len(raw) > maxSmallBlob {
		return m, errdefs.ResourceExhausted("manifest is larger than %d bytes", maxSmallBlob)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, errdefs.InvalidArgument("manifest is not valid JSON: %v", err)
	}
	if len(m.Layers) > pol.MaxLayers {
		return m, errdefs.ResourceExhausted("image has %d layers; at most %d are allowed (max_layers)", len(m.Layers), pol.MaxLayers)
	}
	if len(m.Layers) == 0 {
		return m, errdefs.InvalidArgument("manifest lists no layers")
	}
	var total int64
	for _, l := range m.Layers {
		if l.Size < 0 {
			return m, errdefs.InvalidArgument("layer %s has a negative size", l.Digest)
		}
		if _, ok := asDigest(string(l.Digest)); !ok {
			return m, errdefs.InvalidArgument("layer digest %q is not a sha256 digest", l.Digest)
		}
		total += l.Size
		if total > pol.MaxCompressedBytes {
			return m, errdefs.ResourceExhausted("image layers exceed %d compressed bytes (max_compressed_bytes)", pol.MaxCompressedBytes)
		}
	}
	if _, ok := asDigest(string(m.Config.Digest)); !ok {
		return m, errdefs.InvalidArgument("config digest %q is not a sha256 digest", m.Config.Digest)
	}
	return m, nil
}

// parseConfig decodes the image config and checks it fits the manifest.
func parseConfig(raw []byte, layers int) (ocispec.Image, error) {
	var img ocispec.Image
	if err := json.Unmarshal(raw, &img); err != nil {
		return img, errdefs.InvalidArgument("image config is not valid JSON: %v", err)
	}
	if img.OS != "" && img.OS != "linux" {
		return img, errdefs.InvalidArgument("image is for %s, not linux", img.OS)
	}
	if len(img.RootFS.DiffIDs) != layers {
		return img, errdefs.InvalidArgument("image config lists %d diff ids for %d layers", len(img.RootFS.DiffIDs), layers)
	}
	for _, d := range img.RootFS.DiffIDs {
		if _, ok := asDigest(string(d)); !ok {
			return img, errdefs.InvalidArgument("diff id %q is not a sha256 digest", d)
		}
	}
	return img, nil
}
