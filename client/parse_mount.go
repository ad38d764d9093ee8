package client

import (
	"path/filepath"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// ParseVolume reads -v SRC:DST[:ro|rw] into a bind mount. SRC is a host path,
// absolute or explicitly relative ("./data", made absolute against the
// current directory); docker's named volumes do not exist here. DST must be
// absolute. The default is read-write.
func ParseVolume(s string) (*nucleusv1.Volume, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, errdefs.InvalidArgument("invalid volume %q: want SRC:DST[:ro|rw]", s)
	}
	src, dst := parts[0], parts[1]
	v := &nucleusv1.Volume{Type: nucleusv1.VolumeType_VOLUME_TYPE_BIND, Destination: dst}
	switch {
	case filepath.IsAbs(src):
		v.Source = filepath.Clean(src)
	case src == "." || src == ".." || strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../"):
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, errdefs.InvalidArgument("invalid volume %q: %v", s, err)
		}
		v.Source = abs
	case src == "":
		return nil, errdefs.InvalidArgument("invalid volume %q: empty source", s)
	default:
		return nil, errdefs.InvalidArgument("invalid volume %q: the source must be a host path (/abs or ./rel); named volumes are not supported", s)
	}
	if !filepath.IsAbs(dst) {
		return nil, errdefs.InvalidArgument("invalid volume %q: the destination must be an absolute path", s)
	}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return nil, errdefs.InvalidArgument("invalid volume %q: mode %q is not ro or rw", s, parts[2])
		}
	}
	return v, nil
}

// ParseTmpfs reads --tmpfs DST[:OPTIONS] into a tmpfs mount; OPTIONS is a
// comma-separated list of size=SIZE (see ParseSize), ro and rw. Other docker
// options (mode, noexec, ...) are refused rather than ignored.
func ParseTmpfs(s string) (*nucleusv1.Volume, error) {
	dst, opts, _ := strings.Cut(s, ":")
	if !filepath.IsAbs(dst) {
		return nil, errdefs.InvalidArgument("invalid tmpfs %q: want an absolute DST[:size=64m]", s)
	}
	v := &nucleusv1.Volume{Type: nucleusv1.VolumeType_VOLUME_TYPE_TMPFS, Destination: dst}
	if opts == "" {
		return v, nil
	}
	for _, opt := range strings.Split(opts, ",") {
		key, val, _ := strings.Cut(opt, "=")
		switch key {
		case "size":
			n, err := ParseSize(val)
			if err != nil {
				return nil, errdefs.InvalidArgument("invalid tmpfs %q: %v", s, err)
			}
			v.SizeBytes = n
		case "ro":
			v.ReadOnly = true
		case "rw":
			v.ReadOnly = false
		default:
			return nil, errdefs.InvalidArgument("invalid tmpfs %q: unsupported option %q (supported: size=SIZE, ro, rw)", s, opt)
		}
	}
	return v, nil
}
