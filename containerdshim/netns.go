package containerdshim

import (
	"context"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// LabelPodNetns is the label the shim puts on a pod's sandbox ("pause")
// container: the path of the pod's network namespace (CNI's, under
// /var/run/netns), which the pod's other containers join.
const LabelPodNetns = "io.kubernetes.cri.pod-netns"

// getContainer reads a nucleusd container by id or name.
type getContainer func(ctx context.Context, idOrName string) (*nucleusv1.Container, error)

// JoinNetns applies the network namespace a task's spec names by path (a
// Kubernetes pod's, made by CNI through containerd's CRI plugin): nucleusd
// joins it (spec.network_namespace; root only, inside its [network]
// joinable_namespace_dirs) and never changes or deletes it. A task with a
// new namespace (no path) gets nucleusd's default network.
//
// Pods: Nucleus runs one gVisor sandbox per container, and gVisor's
// netstack takes a namespace's addresses over when it joins. So a pod's
// sandbox ("pause") container does not join the pod's namespace: it only
// records the path (LabelPodNetns), and the pod's container joins that
// path. The CRI plugin names the pause task's own namespace
// (/proc/<pid>/ns/net) for the pod's containers, which under Nucleus is
// not the pod's: the recorded path is used instead. See docs/kubernetes.md.
func JoinNetns(ctx context.Context, cs *nucleusv1.ContainerSpec, s *specs.Spec, namespace string, get getContainer) error {
	path := NetnsPath(s)
	if path == "" {
		return nil
	}
	switch criContainerType(s) {
	case criSandbox:
		if cs.Labels == nil {
			cs.Labels = map[string]string{}
		}
		cs.Labels[LabelPodNetns] = path
		return nil
	case criContainer:
		sandboxID := s.Annotations[criSandboxIDKey]
		pause, err := get(ctx, ContainerName(namespace, sandboxID))
		if err != nil {
			return fmt.Errorf("finding the pod's sandbox container %s: %w", sandboxID, err)
		}
		pod := pause.GetSpec().GetLabels()[LabelPodNetns]
		if pod == "" {
			return errdefs.FailedPrecondition("the pod's sandbox container %s has no network namespace recorded (label %s)", sandboxID, LabelPodNetns)
		}
		path = pod
	}
	cs.NetworkNamespace = path
	return nil
}
