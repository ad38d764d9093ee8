package bundle

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// pin is a bind source that Create pins under bundle/volumes before runsc
// sees it, so that swapping a path component afterwards changes nothing.
type pin struct {
	Mount int // index in spec.Mounts
	Src   hostSource
}

// userMount is a mount the caller asked for, with the field that named it.
type userMount struct {
	what  string
	mount specs.Mount
	dir   bool        // the mount point is a directory (else a file)
	src   *hostSource // the resolved host source of a bind volume
}

// volumeMounts validates req.Volumes and returns their mounts; bind
// sources are resolved and checked against the policy.
func volumeMounts(req *Request, pol *Policy) ([]userMount, error) {
	if len(req.Volumes) > pol.MaxVolumes {
		return nil, errdefs.InvalidArgument("%d volumes; at most %d are allowed", len(req.Volumes), pol.MaxVolumes)
	}
	var out []userMount
	for i, v := range req.Volumes {
		what := fmt.Sprintf("volumes[%d]", i)
		dst, err := cleanDestination(what+".destination", v.Destination)
		devFile := false
		if err != nil && v.Type == VolumeBind {
			dst, devFile = devFileDestination(v.Destination)
		}
		if err != nil && !devFile {
			return nil, err
		}
		switch v.Type {
		case VolumeBind:
			if v.SizeBytes != 0 {
				return nil, errdefs.InvalidArgument("%s: size is only for tmpfs volumes", what)
			}
			src, err := resolveHostPath(what+".source", v.Source, pol)
			if err != nil {
				return nil, err
			}
			if devFile && src.IsDir {
				return nil, errdefs.InvalidArgument("%s: only a single file may be bound under /dev (%s); %s is a directory", what, dst, v.Source)
			}
			opts := []string{"bind", "nosuid", "nodev"}
			if v.ReadOnly {
				opts = append(opts, "ro")
			}
			out = append(out, userMount{what: what, dir: src.IsDir, src: &src, mount: specs.Mount{Destination: dst, Type: "bind", Source: src.Path, Options: opts}})
		case VolumeTmpfs:
			if v.Source != "" {
				return nil, errdefs.InvalidArgument("%s: a tmpfs volume takes no source", what)
			}
			if v.SizeBytes <= 0 || v.SizeBytes > pol.MaxTmpfsVolumeBytes {
				return nil, errdefs.InvalidArgument("%s: tmpfs size %d is not allowed; use 1 to %d bytes", what, v.SizeBytes, pol.MaxTmpfsVolumeBytes)
			}
			uid, gid := req.User.UID, req.User.GID
			opts := []string{"nosuid", "nodev", "mode=0755", fmt.Sprintf("uid=%d", uid), fmt.Sprintf("gid=%d", gid), sizeOpt(v.SizeBytes)}
			if v.ReadOnly {
				opts = append(opts, "ro")
			}
			out = append(out, userMount{what: what, dir: true, mount: specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: opts}})
		default:
			return nil, errdefs.InvalidArgument("%s: type %q is unknown; use %q or %q", what, v.Type, VolumeBind, VolumeTmpfs)
		}
	}
	return out, nil
}

// checkDestinations refuses user mounts that would shadow a default mount
// or the host-bound directories, or nest in one another (a nested mount
// point would be created inside the outer mount's host directory).
func checkDestinations(user []userMount, hostBound bool) error {
	for i, u := range user {
		dst := u.mount.Destination
		if isUnder(dst, HelperMountPoint) || isUnder(HelperMountPoint, dst) {
			return errdefs.InvalidArgument("%s destination %s overlaps %s, where nucleusd mounts its file helper; choose another path", u.what, dst, HelperMountPoint)
		}
		for _, d := range []string{"/tmp", "/dev/shm"} {
			if dst == d {
				return errdefs.InvalidArgument("%s destination %s is already a tmpfs of the sandbox; choose another path", u.what, dst)
			}
		}
		if hostBound {
			for _, h := range hostBoundDirs {
				if isUnder(dst, h) {
					return errdefs.InvalidArgument("%s destination %s would shadow the host's read-only %s; choose a path outside %v", u.what, dst, h, hostBoundDirs)
				}
			}
		}
		for _, o := range user[:i] {
			od := o.mount.Destination
			if isUnder(dst, od) || isUnder(od, dst) {
				return errdefs.InvalidArgument("%s destination %s and %s destination %s overlap; mount destinations must be distinct and not nested", u.what, dst, o.what, od)
			}
		}
	}
	return nil
}

// mountPoints lists what must exist in the rootfs before runsc starts:
// runsc's gofer creates bind mount points on the host, following the
// rootfs's symlinks, so Create makes them first without following any.
// The sentry creates the others in memory.
func mountPoints(mounts []specs.Mount, dirs map[string]bool) []mountPoint {
	var out []mountPoint
	for _, m := range mounts {
		if isBind(m) {
			out = append(out, mountPoint{Dest: filepath.Clean(m.Destination), Dir: dirs[m.Destination]})
		}
	}
	return out
}
