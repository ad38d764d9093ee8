package core

import (
	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/netns"
)

// planJoinedNetNS validates spec.network_namespace, the existing network
// namespace (a Kubernetes pod's, made by CNI) a container joins instead of
// getting one of its own. It returns the resolved path runsc joins with
// --network=sandbox. nucleusd never makes, changes or deletes that
// namespace: the create neither creates nor attaches one, and delete and
// recovery only ever remove the daemon's own (sandbox.Paths.NetNS and the
// network/ package's), never this path. No egress policy applies: the
// namespace's owner (CNI, the operator) decides its traffic.
func (d *Daemon) planJoinedNetNS(caller auth.Identity, spec *nucleusv1.ContainerSpec) (string, error) {
	path := spec.GetNetworkNamespace()
	if !caller.MayUseHostPaths() {
		return "", errdefs.PermissionDenied("network_namespace joins a host network namespace: only root on the local socket (the containerd shim) may set it")
	}
	if spec.GetNetwork() != "" || spec.GetEgress() != nil || len(spec.GetPublishedPorts()) > 0 {
		return "", errdefs.InvalidArgument("network_namespace is exclusive with network, egress and published_ports: the joined namespace's owner decides its traffic")
	}
	dirs := d.cfg.Network.JoinableNamespaceDirs
	if len(dirs) == 0 {
		return "", errdefs.FailedPrecondition("joining a network namespace is off on this host ([network] joinable_namespace_dirs is empty)")
	}
	resolved, err := netns.CheckJoinable(path, dirs)
	if err != nil {
		return "", err
	}
	if err := netns.CheckAddressed(resolved); err != nil {
		return "", err
	}
	return resolved, nil
}

// joinsNetNS reports whether the plan joins an existing namespace.
func (p *createPlan) joinsNetNS() bool { return p.joinedNetNS != "" }
