package sandbox

import (
	"context"

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
	// Not Status: whether it is paused (a runsc process) does not matter.
	st, err := m.status(ctx, id, false)
	if err != nil {
		return Stats{}, err
	}
	if st.Exit != nil {
		return Stats{}, errdefs.FailedPrecondition("container %s is not running", id)
	}
	var s *runsc.Stats
	if m.cfg.Direct != nil {
		var direct runsc.Stats
		direct, err = m.cfg.Direct.Stats(id)
		s = &direct
	} else {
		s, err = m.runsc.Stats(ctx, id)
	}
	if err != nil {
		return Stats{}, err
	}
	if st.SandboxPid > 0 {
		if s.MemoryLimit == 0 {
			if dir, err := cgroup.Dir(st.SandboxPid, "memory"); err == nil {
				s.MemoryLimit, _ = cgroup.MemoryLimit(dir)
			}
		}
		if s.PidsLimit == 0 {
			if dir, err := cgroup.Dir(st.SandboxPid, "pids"); err == nil {
				s.PidsLimit, _ = cgroup.PidsLimit(dir)
			}
		}
	}
	return *s, nil
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
