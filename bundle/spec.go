package bundle

import (
	"os"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/identifiers"
)

// plan is what Create must do on disk for a spec that build returned.
type plan struct {
	rootfs *hostSource // a host directory rootfs; nil for the empty one
	// idmap, for an image root in a user namespace, maps the image's ids
	// onto the namespace's (see idmappedBind).
	idmap *UserNamespace
	// mountLayer, for an image root with bind mounts, overlays the image
	// tree with a per-container upper that holds their mount points (see
	// mountImageLayer).
	mountLayer  bool
	links       []rootfsLink
	mountPoints []mountPoint
	pins        []pin
	secrets     []stagedSecret
	secretUID   uint32 // host owner of the secret files
	secretGID   uint32
	secretsSize int64 // size of the secrets tmpfs
	bundleMode  os.FileMode
}

// mountPoint is a path that must exist in the rootfs.
type mountPoint struct {
	Dest string
	Dir  bool
}

// Build validates req against pol and returns the hardened spec. It does no
// disk I/O except resolving the symlinks of host paths (bind sources, Rootfs).
func Build(id string, req *Request, pol *Policy, paths Paths) (*specs.Spec, error) {
	spec, _, err := build(id, req, pol, paths)
	return spec, err
}

func build(id string, req *Request, polIn *Policy, paths Paths) (*specs.Spec, *plan, error) {
	if err := identifiers.Validate("container id", id); err != nil {
		return nil, nil, err
	}
	if req == nil {
		return nil, nil, errdefs.InvalidArgument("request is missing")
	}
	pol := polIn.withDefaults()
	if err := checkCgroupParent(pol.CgroupParent); err != nil {
		return nil, nil, err
	}
	if err := validateRequest(req, &pol); err != nil {
		return nil, nil, err
	}
	mounts, p, err := layout(req, &pol, paths)
	if err != nil {
		return nil, nil, err
	}

	res := req.Resources
	if res.MemoryBytes == 0 {
		res.MemoryBytes = pol.MaxMemoryBytes
	}
	opts := []SpecOpt{
		withProcess(req),
		WithNoNewPrivileges(),
		WithDroppedCaps(),
		withRlimits(res),
		WithReadonlyRootfs(),
		withHostname(hostname(id, req.Hostname)),
		withMounts(mounts),
		WithNamespaces(req.UserNamespace),
		withNetworkNamespace(paths.NetNS),
		WithMaskedPaths(),
		WithReadonlyPaths(),
		WithDefaultDevices(),
		withResources(specResources(res, &pol), "/"+pol.CgroupParent+"/"+id),
		withSysctls(req.Sysctls),
		withSeccomp(req.Seccomp),
		withAnnotations(specAnnotations(req)),
		withImageRoot(req.Image, imageRootfsHint),
	}
	spec := &specs.Spec{Version: specs.Version}
	for _, o := range opts {
		if err := o(spec); err != nil {
			return nil, nil, err
		}
	}
	return spec, p, nil
}

// hostname is the requested one, or the first 12 characters of the id when
// they form a valid hostname, or "sandbox".
func hostname(id, requested string) string {
	if requested != "" {
		return requested
	}
	h := id
	if len(h) > 12 {
		h = h[:12]
	}
	if checkHostname(&Request{Hostname: h}, nil) == nil {
		return h
	}
	return "sandbox"
}

// processEnv puts the fixed PATH first unless env sets its own.
func processEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	hasPath := false
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			hasPath = true
		}
	}
	if !hasPath {
		out = append(out, "PATH="+DefaultPath)
	}
	return append(out, env...)
}

// checkCgroupParent accepts a relative path of identifier segments.
func checkCgroupParent(parent string) error {
	if path.IsAbs(parent) || path.Clean(parent) != parent {
		return errdefs.FailedPrecondition("policy cgroup parent %q must be a clean relative path", parent)
	}
	for _, seg := range strings.Split(parent, "/") {
		if err := identifiers.Validate("policy cgroup parent segment", seg); err != nil {
			return errdefs.FailedPrecondition("policy cgroup parent %q: %v", parent, err)
		}
	}
	return nil
}
