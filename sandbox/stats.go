package sandbox

import (
	"context"
	"errors"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/internal/cgroup"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// Stats is one resource sample of a container.
type Stats = runsc.Stats

// Stats samples memory, CPU and pids (runsc events --stats). Limits runsc
// does not report are read from the sandbox's host cgroup.
func (m *Manager) Stats(ctx context.Context, id string) (Stats, error) {
	if err := supervisor.ValidID(id); err != nil {
		return Stats{}, err
	}
	if m.cfg.Direct != nil {
		// Straight to the sandbox: neither the supervisor nor runsc has
		// to be asked (a sample over many containers costs little more
		// than over one).
		s, pid, err := m.cfg.Direct.Stats(id)
		if errors.Is(err, errdefs.ErrNotFound) {
			return Stats{}, errdefs.FailedPrecondition("container %s is not running", id)
		}
		if err != nil {
			return Stats{}, err
		}
		return withCgroupLimits(s, pid), nil
	}
	// Not Status: whether it is paused (a runsc process) does not matter.
	st, err := m.status(ctx, id, false)
	if err != nil {
		return Stats{}, err
	}
	if st.Exit != nil {
		return Stats{}, errdefs.FailedPrecondition("container %s is not running", id)
	}
	s, err := m.runsc.Stats(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	return withCgroupLimits(*s, st.SandboxPid), nil
}

// withCgroupLimits fills the limits that runsc did not report from the
// host cgroup of the sandbox process pid.
func withCgroupLimits(s Stats, pid int) Stats {
	if pid <= 0 {
		return s
	}
	if s.MemoryLimit == 0 {
		if dir, err := cgroup.Dir(pid, "memory"); err == nil {
			s.MemoryLimit, _ = cgroup.MemoryLimit(dir)
		}
	}
	if s.PidsLimit == 0 {
		if dir, err := cgroup.Dir(pid, "pids"); err == nil {
			s.PidsLimit, _ = cgroup.PidsLimit(dir)
		}
	}
	return s
}

// Pause freezes the container.
func (m *Manager) Pause(ctx context.Context, id string) error {
	if err := supervisor.ValidID(id); err != nil {
		return err
	}
	return m.runsc.Pause(ctx, id)
}

// Resume thaws a paused container.
func (m *Manager) Resume(ctx context.Context, id string) error {
	if err := supervisor.ValidID(id); err != nil {
		return err
	}
	return m.runsc.Resume(ctx, id)
}
