package sandbox

import (
	"context"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// Resources are the live-updatable limits of a sandbox; zero fields are
// left as they are.
type Resources struct {
	MemoryBytes int64
	CPUs        float64
}

// cpuPeriod is the CFS period used for fractional CPU limits (100 ms).
const cpuPeriod = 100000

// Update changes a running sandbox's memory and CPU limits on the host.
func (m *Manager) Update(ctx context.Context, id string, r Resources) error {
	if err := supervisor.ValidID(id); err != nil {
		return err
	}
	if r.MemoryBytes < 0 || r.CPUs < 0 {
		return errdefs.InvalidArgument("update: limits must not be negative")
	}
	o := runsc.UpdateOptions{MemoryBytes: r.MemoryBytes}
	if r.CPUs > 0 {
		o.CPUQuota, o.CPUPeriod = int64(r.CPUs*cpuPeriod), cpuPeriod
	}
	return m.runsc.Update(ctx, id, o)
}
