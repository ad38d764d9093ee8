package containerdshim

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/cri"
)

// criContainerType is the spec's CRI container type, "" outside CRI.
func criContainerType(s *specs.Spec) string {
	if s == nil {
		return ""
	}
	return s.Annotations[cri.ContainerType]
}

// podNamespaces is the spec's linux section as the refusal checks see it:
// a CRI pod container's joins of the pod's IPC, UTS and PID namespaces
// (paths into the pause container's /proc/<pid>/ns, host namespaces that
// mean nothing inside gVisor) are dropped, since the container runs in the
// pod's gVisor sandbox (PlacePod), whose kernel gives it the pod's hostname
// and namespaces of its own. Every other spec is returned as is.
func podNamespaces(s *specs.Spec) *specs.Linux {
	if s == nil {
		return nil
	}
	if s.Linux == nil || criContainerType(s) != cri.ContainerTypeContainer {
		return s.Linux
	}
	l := *s.Linux
	l.Namespaces = nil
	for _, ns := range s.Linux.Namespaces {
		switch ns.Type {
		case specs.IPCNamespace, specs.UTSNamespace, specs.PIDNamespace:
			ns.Path = ""
		}
		l.Namespaces = append(l.Namespaces, ns)
	}
	return &l
}
