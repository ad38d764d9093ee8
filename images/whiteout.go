package images

import (
	"errors"
	"path"

	"golang.org/x/sys/unix"
)

// whiteout removes p (a file or a whole directory) left by a lower layer.
// p is resolved like any entry, so a whiteout naming "../x" removes at most
// /x of the tree.
func (u *unpacker) whiteout(p string) error {
	p = cleanPath(p)
	if p == "" {
		return nil
	}
	pfd, err := u.t.open(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // nothing to hide
	}
	if err != nil {
		return err
	}
	defer closeFD(pfd)
	return removeAt(pfd, path.Base(p))
}

// opaque empties directory dir of what lower layers put there, keeping
// what this layer already created in it.
func (u *unpacker) opaque(dir string) error {
	dfd, err := u.t.mkdirAll(dir)
	if err != nil {
		return err
	}
	defer closeFD(dfd)
	return emptyDirAt(dfd, ".", func(name string) bool {
		return u.created[path.Join(dir, name)]
	})
}
