package images

import (
	"context"
	"io"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Import reads an OCI image layout tar or a `docker save` tar from r, as
// caller, and stores and unpacks every image in it (the linux/amd64 entry of
// an index). The same caps as Pull apply; r is read only once and spooled
// into tmp/ within MaxCompressedBytes. References come from the tar's
// annotations (org.opencontainers.image.ref.name) or its manifest.json
// RepoTags; an image without one is known by its digest only.
func (s *Store) Import(ctx context.Context, r io.Reader, caller Caller, progress ProgressFunc) ([]*Record, error) {
	return nil, errdefs.FailedPrecondition("images: import is not implemented yet")
}
