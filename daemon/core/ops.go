package core

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// Pause freezes a running container.
func (d *Daemon) Pause(ctx context.Context, caller auth.Identity, idOrName string) (*nucleusv1.Container, error) {
	return d.transition(ctx, caller, idOrName, stateRunning, statePaused, nucleusv1.EventType_EVENT_TYPE_PAUSED, d.sb.Pause)
}

// Resume thaws a paused container.
func (d *Daemon) Resume(ctx context.Context, caller auth.Identity, idOrName string) (*nucleusv1.Container, error) {
	return d.transition(ctx, caller, idOrName, statePaused, stateRunning, nucleusv1.EventType_EVENT_TYPE_RESUMED, d.sb.Resume)
}

func (d *Daemon) transition(ctx context.Context, caller auth.Identity, idOrName string, from, to nucleusv1.ContainerState,
	ev nucleusv1.EventType, op func(context.Context, string) error) (*nucleusv1.Container, error) {
	c, unlock, err := d.lookupLocked(caller, idOrName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.State != from {
		return nil, errdefs.FailedPrecondition("container %s is %s; it must be %s", c.Name, stateName(c.State), stateName(from))
	}
	if ev == nucleusv1.EventType_EVENT_TYPE_PAUSED {
		if err := d.refuseForPod(c, "pause", false); err != nil {
			return nil, err
		}
	}
	if err := op(ctx, c.ID); err != nil {
		return nil, err
	}
	c, err = d.store.UpdateContainer(c.ID, func(r *store.Container) error {
		if r.State == from {
			r.State = to
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.publish(ev, c, "", 0, nil)
	return toAPI(c), nil
}

// Update changes a live container's memory and CPU limits, within the
// operator's ceilings (checked before the host cgroup is touched). The
// in-sandbox task limit (pids) is fixed at create and cannot change.
func (d *Daemon) Update(ctx context.Context, caller auth.Identity, idOrName string, r *nucleusv1.Resources) (*nucleusv1.Container, error) {
	if r == nil || (r.GetMemoryBytes() == 0 && r.GetCpus() == 0 && r.GetPids() == 0) {
		return nil, errdefs.InvalidArgument("nothing to update: give memory_bytes, cpus or pids")
	}
	if r.GetPids() != 0 {
		return nil, errdefs.InvalidArgument("pids cannot change on a created sandbox (it is the in-sandbox RLIMIT_NPROC); create a new container")
	}
	if err := d.checkUpdate(caller, r); err != nil {
		return nil, err
	}
	c, unlock, err := d.lookupLocked(caller, idOrName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !live(c.State) {
		return nil, errdefs.FailedPrecondition("container %s is %s; only a live container can be updated", c.Name, stateName(c.State))
	}
	if c.Spec.GetPod() != "" {
		return nil, errdefs.FailedPrecondition("container %s is a member of the pod of %s: its limits are the pod's; update the pod's first container", c.Name, shortID(c.Spec.GetPod()))
	}
	if err := d.sb.Update(ctx, c.ID, sandbox.Resources{MemoryBytes: r.GetMemoryBytes(), CPUs: r.GetCpus()}); err != nil {
		return nil, err
	}
	c, err = d.store.UpdateContainer(c.ID, func(rec *store.Container) error {
		if rec.Spec.Resources == nil {
			rec.Spec.Resources = &nucleusv1.Resources{}
		}
		if r.GetMemoryBytes() > 0 {
			rec.Spec.Resources.MemoryBytes = r.GetMemoryBytes()
		}
		if r.GetCpus() > 0 {
			rec.Spec.Resources.Cpus = r.GetCpus()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.publish(nucleusv1.EventType_EVENT_TYPE_UPDATED, c, "", 0, nil)
	return toAPI(c), nil
}

// Stats samples a live container's resource use.
func (d *Daemon) Stats(ctx context.Context, caller auth.Identity, idOrName string) (*nucleusv1.ContainerStats, error) {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	if !live(c.State) {
		return nil, errdefs.FailedPrecondition("container %s is %s; stats exist only for live containers", c.Name, stateName(c.State))
	}
	s, err := d.sb.Stats(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	out := &nucleusv1.ContainerStats{
		Id: c.ID, Name: c.Name, Time: timestamppb.Now(),
		MemoryUsageBytes: s.MemoryUsage, MemoryLimitBytes: s.MemoryLimit, CpuUsageNs: s.CPUUsageNanos,
		PidsCurrent: s.PidsCurrent, PidsLimit: s.PidsLimit,
	}
	d.networkStats(ctx, c, out)
	return out, nil
}

// Counts returns how many containers the host has in each state, for the
// operator's metrics.
func (d *Daemon) Counts() (map[nucleusv1.ContainerState]int, int, error) {
	return d.counts(nil)
}

// CountsFor is Counts of the containers caller may see (every one for an
// admin): what Info reports.
func (d *Daemon) CountsFor(caller auth.Identity) (map[nucleusv1.ContainerState]int, int, error) {
	return d.counts(func(c *store.Container) bool { return visible(caller, c) })
}

func (d *Daemon) counts(keep func(*store.Container) bool) (map[nucleusv1.ContainerState]int, int, error) {
	recs, err := d.store.ViewContainers(keep)
	if err != nil {
		return nil, 0, err
	}
	out := map[nucleusv1.ContainerState]int{}
	for _, c := range recs {
		out[c.State]++
	}
	return out, len(recs), nil
}
