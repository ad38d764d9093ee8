// Package cri names the OCI annotations containerd's CRI plugin writes on
// a pod's specs. runsc reads two of them to run several containers in one
// sandbox, so the bundle package writes them for a pod's member, and the
// containerd shim reads them all to place a task in its pod.
package cri

// The annotations.
const (
	// ContainerType is "sandbox" on a pod's pause container, "container"
	// on the pod's other containers.
	ContainerType          = "io.kubernetes.cri.container-type"
	ContainerTypeSandbox   = "sandbox"
	ContainerTypeContainer = "container"
	// SandboxID is the pod's sandbox (its pause container's id) on the
	// pod's other containers.
	SandboxID = "io.kubernetes.cri.sandbox-id"
	// SandboxMemory, SandboxCPUQuota and SandboxCPUPeriod are the pod's
	// limits on the pause container (kubelet's sum of its containers'
	// limits, kubelet 1.23 and later).
	SandboxMemory    = "io.kubernetes.cri.sandbox-memory"
	SandboxCPUQuota  = "io.kubernetes.cri.sandbox-cpu-quota"
	SandboxCPUPeriod = "io.kubernetes.cri.sandbox-cpu-period"
)
