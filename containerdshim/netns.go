package containerdshim

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
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
	case criContainer:
		sandboxID := s.Annotations[criSandboxIDKey]
		if sandboxID == "" {
			return errdefs.InvalidArgument("a CRI container without its pod's sandbox id (annotation %s)", criSandboxIDKey)
		}
		cs.Pod = ContainerName(namespace, sandboxID)
		cs.NetworkNamespace, cs.Resources = "", nil
		return nil
	default: // the pause container, or a task outside CRI
		cs.NetworkNamespace = NetnsPath(s)
		return nil
	}
}
