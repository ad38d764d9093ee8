package guest

import (
	"os"
	"path/filepath"
	"syscall"

	"nucleus.dev/nucleus/fsapi/wire"
)

// lstat describes p without following a final symlink.
func lstat(p string) (*wire.Info, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	return infoOf(filepath.Base(p), p, &st), nil
}

func infoOf(name, p string, st *syscall.Stat_t) *wire.Info {
	info := &wire.Info{Name: []byte(name), Mode: st.Mode, Size: uint64(st.Size), UID: st.Uid, GID: st.Gid,
		MtimeNano: st.Mtim.Nano()}
	if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		if t, err := os.Readlink(p); err == nil {
			info.Link = []byte(t)
		}
	}
	return info
}
