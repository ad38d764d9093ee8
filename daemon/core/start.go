package core

import (
	"context"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/hooks"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// Start starts a created container and runs its poststart hooks; a failing
// poststart hook is a warning and an event, never a stop.
func (d *Daemon) Start(ctx context.Context, caller auth.Identity, idOrName string) (_ *nucleusv1.Container, err error) {
	begin := time.Now()
	defer func() { d.metrics.ObserveLifecycle("start", time.Since(begin), err) }()
	c, unlock, err := d.lookupLocked(caller, idOrName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.State != nucleusv1.ContainerState_CONTAINER_STATE_CREATED {
		return nil, errdefs.FailedPrecondition("container %s is %s; only a created container can be started", c.Name, stateName(c.State))
	}
	cctx := context.WithoutCancel(ctx)
	st, err := d.sb.Start(cctx, c.ID)
	if err != nil {
		return nil, d.runError("start", err)
	}
	return d.started(cctx, c, st)
}

// started records a running container and runs its poststart hooks.
func (d *Daemon) started(ctx context.Context, c *store.Container, st sandbox.Status) (*nucleusv1.Container, error) {
	startedAt := st.StartedAt
	if startedAt.IsZero() {
		startedAt = time.Now()
	}
	c, err := d.store.UpdateContainer(c.ID, func(r *store.Container) error {
		if r.State == nucleusv1.ContainerState_CONTAINER_STATE_CREATED {
			r.State = nucleusv1.ContainerState_CONTAINER_STATE_RUNNING
		}
		r.StartedAt = startedAt.UTC()
		if st.SandboxPid != 0 {
			r.Pid = st.SandboxPid
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.publish(nucleusv1.EventType_EVENT_TYPE_STARTED, c, "", 0, nil)
	return d.poststart(ctx, c)
}

// poststart runs the poststart hooks of a container that just started,
// best effort: failures become HOOK_FAILED events and record warnings.
func (d *Daemon) poststart(ctx context.Context, c *store.Container) (*nucleusv1.Container, error) {
	var err error
	if d.hasHooks(c.HookSet, hooks.Poststart) {
		hstart := time.Now()
		errs := d.hooks.RunBestEffort(ctx, c.HookSet, hooks.Poststart, d.hookState(c, specs.StateRunning))
		for _, herr := range errs {
			d.metrics.ObserveHook(string(hooks.Poststart), time.Since(hstart), herr)
			d.log.Warn("poststart hook failed; the container keeps running", zap.String("id", c.ID), zap.Error(herr))
			d.publish(nucleusv1.EventType_EVENT_TYPE_HOOK_FAILED, c, herr.Error(), 0, map[string]string{"phase": string(hooks.Poststart)})
		}
		if len(errs) == 0 {
			d.metrics.ObserveHook(string(hooks.Poststart), time.Since(hstart), nil)
		} else if c, err = d.store.UpdateContainer(c.ID, func(r *store.Container) error {
			for _, herr := range errs {
				r.Warnings = append(r.Warnings, herr.Error())
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return toAPI(c), nil
}

func stateName(s nucleusv1.ContainerState) string {
	switch s {
	case nucleusv1.ContainerState_CONTAINER_STATE_CREATING:
		return "creating"
	case nucleusv1.ContainerState_CONTAINER_STATE_CREATED:
		return "created"
	case nucleusv1.ContainerState_CONTAINER_STATE_RUNNING:
		return "running"
	case nucleusv1.ContainerState_CONTAINER_STATE_PAUSED:
		return "paused"
	case nucleusv1.ContainerState_CONTAINER_STATE_EXITED:
		return "exited"
	case nucleusv1.ContainerState_CONTAINER_STATE_REMOVED:
		return "removed"
	}
	return "unknown"
}
