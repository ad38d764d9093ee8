package bundle

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// layout decides the filesystem of the sandbox: the rootfs (empty with the
// host's directories bound, or a host directory), the default mounts, the
// volumes and the secrets, in mount order, plus what Create must do on
// disk for them.
func layout(req *Request, pol *Policy, paths Paths) ([]specs.Mount, *plan, error) {
	p := &plan{}
	mounts := defaultMounts(pol)
	dirs := map[string]bool{}
	switch {
	case req.Image != nil:
		src, err := imageSource(req)
		if err != nil {
			return nil, nil, err
		}
		p.rootfs = &src
		p.idmap = req.UserNamespace
	case req.Rootfs != "":
		src, err := resolveHostPath("rootfs", req.Rootfs, pol)
		if err != nil {
			return nil, nil, err
		}
		if !src.IsDir {
			return nil, nil, errdefs.InvalidArgument("rootfs %q is not a directory", req.Rootfs)
		}
		p.rootfs = &src
	default:
		var hostMounts []specs.Mount
		hostMounts, p.links = hostLayout(hostRoot)
		for _, m := range hostMounts {
			dirs[m.Destination] = true
		}
		mounts = append(mounts, hostMounts...)
	}
	vols, err := volumeMounts(req, pol)
	if err != nil {
		return nil, nil, err
	}
	secrets, staged, err := secretMounts(req, pol, paths)
	if err != nil {
		return nil, nil, err
	}
	user := append(vols, secrets...)
	if req.Image != nil {
		if p.mountLayer, err = resolveImageDestinations(req.Image.Dir, user); err != nil {
			return nil, nil, err
		}
	}
	if err := checkDestinations(user, req.Rootfs == "" && req.Image == nil); err != nil {
		return nil, nil, err
	}
	for _, u := range user {
		if u.dir {
			dirs[u.mount.Destination] = true
		}
		if u.src != nil {
			p.pins = append(p.pins, pin{Mount: len(mounts), Src: *u.src})
		}
		mounts = append(mounts, u.mount)
	}
	if paths.HelperDir != "" && (req.Image == nil || hasMountPoint(req.Image.Dir, HelperMountPoint)) {
		// A mount point of its own: the workload can neither remove nor
		// rename it, and it is read-only.
		dirs[HelperMountPoint] = true
		mounts = append(mounts, specs.Mount{Destination: HelperMountPoint, Type: "bind", Source: paths.HelperDir,
			Options: []string{"bind", "ro", "nosuid", "nodev"}})
	}
	if req.Image == nil || p.mountLayer {
		// An image's tree is shared and never written: without bind
		// mounts the sandbox makes its mount points in its own writable
		// layer; with them, Create makes them in the mount-point layer.
		p.mountPoints = mountPoints(mounts, dirs)
	}
	p.secrets = staged
	p.secretUID, p.secretGID = hostIDs(req)
	p.secretsSize = pol.SecretsSizeBytes
	p.bundleMode = 0o700
	if req.UserNamespace != nil {
		// runsc's gofer enters the user namespace before it bind-mounts the
		// rootfs, so the mapped root must be able to traverse the bundle.
		p.bundleMode = 0o711
	}
	return mounts, p, nil
}
