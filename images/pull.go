package images

import (
	"context"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Pull fetches ref (a tag or a digest) from its registry, or a mirror, as
// caller, stores and unpacks it, and returns its record. An image already
// stored by digest is not downloaded again (its reference is still
// re-resolved for tags). Concurrent pulls of one reference, and downloads
// of one blob, are shared. Errors: InvalidArgument for a bad reference,
// PermissionDenied for a registry the policy does not allow, NotFound for a
// missing image, ResourceExhausted over a cap, DeadlineExceeded past the
// pull timeout, Unavailable when the registry cannot be reached.
func (s *Store) Pull(ctx context.Context, ref string, caller Caller, progress ProgressFunc) (*Record, error) {
	return nil, errdefs.FailedPrecondition("images: pull is not implemented yet")
}
