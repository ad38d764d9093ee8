package core

import (
	"context"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// UpdateNetwork replaces the egress policy of a live container on the
// "egress" network, within the operator's ceilings for caller (the owner
// or root: lookup hides other owners' containers). The host's rules change
// before the record; the change is audited in the daemon's log and by a
// NETWORK_POLICY_UPDATED event.
func (d *Daemon) UpdateNetwork(ctx context.Context, caller auth.Identity, idOrName string, pol *nucleusv1.EgressPolicy) (*nucleusv1.Container, error) {
	if pol == nil {
		return nil, errdefs.InvalidArgument("an egress policy is required (mode none to allow nothing)")
	}
	c, unlock, err := d.lookupLocked(caller, idOrName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.IPAddress == "" || d.net == nil {
		return nil, errdefs.FailedPrecondition("container %s is not on the egress network (network %q)", c.Name, c.Spec.GetNetwork())
	}
	if !live(c.State) {
		return nil, errdefs.FailedPrecondition("container %s is %s; only a live container's policy can change", c.Name, stateName(c.State))
	}
	rules, err := egressRules(&d.cfg.Network, caller, pol)
	if err != nil {
		return nil, err
	}
	if err := d.net.Update(ctx, c.ID, rules); err != nil {
		return nil, err
	}
	ev := d.event(nucleusv1.EventType_EVENT_TYPE_NETWORK_POLICY_UPDATED, c, "", 0, egressAttributes(rules))
	c, err = d.store.UpdateContainer(c.ID, func(rec *store.Container) error {
		rec.Spec = proto.CloneOf(rec.Spec)
		rec.Spec.Egress = proto.CloneOf(pol)
		return nil
	}, ev)
	if err != nil {
		return nil, err
	}
	d.events.notify(ev)
	d.log.Info("egress policy updated", zap.String("id", c.ID), zap.String("name", c.Name),
		zap.String("caller", caller.Principal()), zap.Stringer("policy", rules))
	return toAPI(c), nil
}

// networkStats adds c's network counters to out (egress network only); a
// failure leaves them zero, logged.
func (d *Daemon) networkStats(ctx context.Context, c *store.Container, out *nucleusv1.ContainerStats) {
	if c.IPAddress == "" || d.net == nil {
		return
	}
	n, err := d.net.Counters(ctx, c.ID)
	if err != nil {
		d.log.Warn("network counters", zap.String("id", c.ID), zap.Error(err))
		return
	}
	out.NetworkRxBytes, out.NetworkTxBytes, out.EgressDroppedPackets = n.RxBytes, n.TxBytes, n.DroppedPackets
}
