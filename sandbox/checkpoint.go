package sandbox

import (
	"context"

	"nucleus.dev/nucleus/sandbox/runsc"
)

// Checkpoint saves the running container's sandbox to o.ImagePath with
// runsc checkpoint. Without o.LeaveRunning the sandbox exits once saved;
// its supervisor records the exit as for any other.
func (m *Manager) Checkpoint(ctx context.Context, id string, o runsc.CheckpointOptions) error {
	if m.cfg.Direct != nil {
		return m.cfg.Direct.Checkpoint(ctx, id, o)
	}
	return m.runsc.Checkpoint(ctx, id, o)
}
