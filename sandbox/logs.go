package sandbox

import (
	"context"

	"nucleus.dev/nucleus/sandbox/containerlog"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// Logs emits the container's log entries (see containerlog.Read). With
// Follow and no Done channel, following ends when the container exits.
func (m *Manager) Logs(ctx context.Context, id string, o containerlog.ReadOptions, emit func(containerlog.Entry) error) error {
	if err := supervisor.ValidID(id); err != nil {
		return err
	}
	if _, err := m.Status(ctx, id); err != nil {
		return err
	}
	if o.Follow && o.Done == nil {
		done := make(chan struct{})
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			_, _ = m.Wait(wctx, id)
			close(done)
		}()
		o.Done = done
	}
	return containerlog.Read(ctx, m.Paths(id).Log, o, emit)
}
