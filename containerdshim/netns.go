package containerdshim

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/cri"
	"nucleus.dev/nucleus/internal/errdefs"
)

// PlacePod applies where a task runs: a Kubernetes pod is one gVisor
// sandbox, as with gVisor's own shim. The pod's sandbox ("pause")
// container is the pod's first container: it joins the pod's network
// namespace (CNI's, under /var/run/netns; spec.network_namespace, root
// only, inside nucleusd's [network] joinable_namespace_dirs, never changed
// or deleted), whose addresses gVisor's netstack takes over. The pod's
// other containers join its sandbox (spec.pod = the pause container's
// nucleusd name), and with it the pod's network (localhost between them),
// limits and life; what containerd names for them, the pause task's own
// /proc/<pid>/ns/net and per-container resources, is not theirs to set
// (the pod's limits are the pause container's). A task outside CRI joins
// the namespace its spec names by path, or gets nucleusd's default
// network. See docs/kubernetes.md.
func PlacePod(cs *nucleusv1.ContainerSpec, s *specs.Spec, namespace string) error {
	switch criContainerType(s) {
	case cri.ContainerTypeContainer:
		sandboxID := s.Annotations[cri.SandboxID]
		if sandboxID == "" {
			return errdefs.InvalidArgument("a CRI container without its pod's sandbox id (annotation %s)", cri.SandboxID)
		}
		cs.Pod = ContainerName(namespace, sandboxID)
		cs.NetworkNamespace, cs.Resources = "", nil
		return nil
	case cri.ContainerTypeSandbox:
		cs.NetworkNamespace = NetnsPath(s)
		r, err := podResources(s.Annotations)
		if err != nil {
			return err
		}
		if r != nil {
			cs.Resources = r
		}
		return nil
	default: // a task outside CRI
		cs.NetworkNamespace = NetnsPath(s)
		return nil
	}
}

// podResources are the pod's memory and CPU limits from the pause
// container's annotations, nil when it has none (nucleusd's [defaults]
// apply). Zero or negative values mean no limit from the pod; a value
// that is not a number is refused.
func podResources(a map[string]string) (*nucleusv1.Resources, error) {
	num := func(key string) (int64, error) {
		v, ok := a[key]
		if !ok {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, errdefs.InvalidArgument("annotation %s: %.40q is not a number", key, v)
		}
		return max(n, 0), nil
	}
	mem, err := num(cri.SandboxMemory)
	if err != nil {
		return nil, err
	}
	quota, err := num(cri.SandboxCPUQuota)
	if err != nil {
		return nil, err
	}
	period, err := num(cri.SandboxCPUPeriod)
	if err != nil {
		return nil, err
	}
	r := &nucleusv1.Resources{MemoryBytes: mem}
	if quota > 0 {
		if period == 0 {
			period = 100000
		}
		r.Cpus = float64(quota) / float64(period)
	}
	if r.MemoryBytes == 0 && r.Cpus == 0 {
		return nil, nil
	}
	return r, nil
}
