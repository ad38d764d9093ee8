package images

import "nucleus.dev/nucleus/internal/errdefs"

// Remove removes a reference, or an image with all its references. Given a
// reference of an image that has others, only that reference goes (as
// docker rmi untags). An image some container uses is refused
// (FailedPrecondition) unless opt.Force, and one a running container uses
// always is. A non-root caller may remove only images it pulled and that no
// other uid's container uses (PermissionDenied).
func (s *Store) Remove(refOrDigest string, opt RemoveOptions) (*RemoveResult, error) {
	return nil, errdefs.FailedPrecondition("images: remove is not implemented yet")
}

// Prune removes every image no container uses (a non-root caller: those it
// pulled) and returns them.
func (s *Store) Prune(caller Caller, usage UsageFunc) ([]*Record, error) {
	return nil, errdefs.FailedPrecondition("images: prune is not implemented yet")
}
