package supervisor

import (
	"sync"

	"nucleus.dev/nucleus/sandbox/internal/cgroup"
)

// hostFacts are what a supervisor process reads of the host once and keeps
// for every container it supervises in turn: the cgroup hierarchies' mount
// points (mounted at boot, they stay), which each container's memory cgroup
// lookup parsed the whole mount table for.
type hostFacts struct {
	once   sync.Once
	mounts cgroup.Mounts
	err    error
}

// cgroupMounts reads the cgroup mount table on first use.
func (h *hostFacts) cgroupMounts() (cgroup.Mounts, error) {
	h.once.Do(func() { h.mounts, h.err = cgroup.ReadMounts() })
	return h.mounts, h.err
}

// memoryCgroup is the host directory of pid's memory cgroup.
func (h *hostFacts) memoryCgroup(pid int) (string, error) {
	mounts, err := h.cgroupMounts()
	if err != nil {
		return "", err
	}
	return mounts.Dir(pid, "memory")
}
