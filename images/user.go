package images

import (
	"nucleus.dev/nucleus/internal/errdefs"
)

// ResolveUser resolves an image USER ("name", "uid", "name:group",
// "uid:gid", empty meaning root) against the image's own /etc/passwd and
// /etc/group, read inside its tree through the same RESOLVE_IN_ROOT
// resolution as unpacking, never the host's files. It returns the uid, the
// primary gid and the supplementary gids the user is a member of.
// A name missing from the image is InvalidArgument.
func (s *Store) ResolveUser(rec *Record, user string) (uid, gid uint32, additional []uint32, err error) {
	return 0, 0, nil, errdefs.FailedPrecondition("images: resolve user is not implemented yet")
}
