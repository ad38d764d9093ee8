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
		return m.withHostCgroup(s, pid), nil
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
	return m.withHostCgroup(*s, st.SandboxPid), nil
}

// withHostCgroup completes a sample from the host cgroup of the sandbox
// process pid: the limits runsc did not report, and CPU as all that the
// sandbox (sentry and gofer) used, as runsc events reports it for a
// one-container sandbox.
func (m *Manager) withHostCgroup(s Stats, pid int) Stats {
	if pid <= 0 {
		return s
	}
	mounts, err := m.cgroups.Get()
	if err != nil {
		return s
	}
	cg, err := mounts.Of(pid)
	if err != nil {
		return s
	}
	// A pod member's CPU stays the sentry's accounting of it: the host
	// cgroup's is the whole pod's.
	if dir, err := cg.Dir("cpuacct"); err == nil && !s.InPod { // v2: the unified dir
		if used, err := cgroup.CPUUsage(dir); err == nil && used > 0 {
			s.CPUUsageNanos = used
		}
	}
	if dir, err := cg.Dir("memory"); err == nil {
		if s.MemoryLimit == 0 {
			s.MemoryLimit, _ = cgroup.MemoryLimit(dir)
		}
		if s.MemoryUsage == 0 && !s.InPod {
			// gVisor reports 0 for a pod's first container (it splits the
			// sandbox's memory among the members): the whole pod's, as the
			// host charges it, is the better figure.
			s.MemoryUsage, _ = cgroup.MemoryUsage(dir)
		}
	}
	if s.PidsLimit == 0 {
		if dir, err := cg.Dir("pids"); err == nil {
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
