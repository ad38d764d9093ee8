package core

import (
	"fmt"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// A pod is a container (its first) and the containers created in its
// gVisor sandbox (spec.pod): its members. The sandbox, and with it the
// network, the limits, the user-namespace range and the life of the pod,
// stays the first container's; each member has its own supervisor, record,
// rootfs, output and exit status. The first container of a pod is the
// record the members' spec.pod names; a member is never a pod itself.

// memberFields are what a member shares with its pod and may not set.
var memberFields = []struct {
	name string
	set  func(*nucleusv1.ContainerSpec) bool
}{
	{"network", func(s *nucleusv1.ContainerSpec) bool { return s.GetNetwork() != "" }},
	{"network_namespace", func(s *nucleusv1.ContainerSpec) bool { return s.GetNetworkNamespace() != "" }},
	{"egress", func(s *nucleusv1.ContainerSpec) bool { return s.GetEgress() != nil }},
	{"published_ports", func(s *nucleusv1.ContainerSpec) bool { return len(s.GetPublishedPorts()) > 0 }},
	// The writable layer's size (disk_bytes) is the member's own.
	{"resources (memory, cpus, pids)", func(s *nucleusv1.ContainerSpec) bool {
		r := s.GetResources()
		return r.GetMemoryBytes() != 0 || r.GetCpus() != 0 || r.GetPids() != 0
	}},
	{"user_namespace", func(s *nucleusv1.ContainerSpec) bool { return s.GetUserNamespace() != nil }},
}

// planPod resolves spec.pod for caller: the running first container of a
// pod, one of caller's own (root may see others', not join them), whose
// sandbox the new container joins.
func (d *Daemon) planPod(caller auth.Identity, spec *nucleusv1.ContainerSpec) (*store.Container, error) {
	for _, f := range memberFields {
		if f.set(spec) {
			return nil, errdefs.InvalidArgument("%s: a pod member shares its pod's (pod %q); set it on the pod's first container", f.name, spec.GetPod())
		}
	}
	root, err := d.lookup(caller, spec.GetPod())
	if err != nil {
		return nil, fmt.Errorf("pod: %w", err)
	}
	if root.OwnerUID != uint32(caller.UID) {
		// Root sees every container, but one sandbox holds one owner's.
		return nil, errdefs.PermissionDenied("pod: container %s belongs to uid %d; a pod's members belong to its owner", root.Name, root.OwnerUID)
	}
	if root.Spec.GetPod() != "" {
		return nil, errdefs.FailedPrecondition("pod: container %s is a member of the pod of %s; name the pod's first container", root.Name, shortID(root.Spec.GetPod()))
	}
	if root.State != stateRunning {
		return nil, errdefs.FailedPrecondition("pod: container %s is %s; a pod's first container must be running for members to join it", root.Name, stateName(root.State))
	}
	if root.RestoredFrom != "" {
		return nil, errdefs.FailedPrecondition("pod: container %s was restored from a snapshot; gVisor adds no container to a restored sandbox", root.Name)
	}
	return root, nil
}

// shortID is an id as the CLI shows it.
func shortID(id string) string { return id[:min(12, len(id))] }

// members are the names of pod's members: only those that have not
// exited (a member being created counts), or with all every one (an
// exited member stays in the sandbox's state until it is removed).
func (d *Daemon) members(pod string, all bool) ([]string, error) {
	recs, err := d.store.ViewContainers(func(c *store.Container) bool {
		return c.Spec.GetPod() == pod && (all || live(c.State) || c.State == nucleusv1.ContainerState_CONTAINER_STATE_CREATING)
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(recs))
	for i, c := range recs {
		names[i] = c.Name
	}
	return names, nil
}

// refuseForPod refuses op on c when c is a pod's member, or a pod's first
// container with members (live ones; any with anyMember): gVisor does op
// to a whole sandbox.
func (d *Daemon) refuseForPod(c *store.Container, op string, anyMember bool) error {
	if c.Spec.GetPod() != "" {
		return errdefs.FailedPrecondition("container %s is a member of the pod of %s: %s applies to a whole sandbox, so it is refused for a member", c.Name, shortID(c.Spec.GetPod()), op)
	}
	members, err := d.members(c.ID, anyMember)
	if err != nil {
		return err
	}
	if len(members) > 0 {
		return errdefs.FailedPrecondition("container %s is the first container of a pod with members (%s): %s of a pod is not supported; remove its members first", c.Name, strings.Join(members, ", "), op)
	}
	return nil
}
