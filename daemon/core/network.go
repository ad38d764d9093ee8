package core

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"go.uber.org/zap"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// NetworkAttacher gives containers on the "egress" network their network:
// a network namespace joined to the daemon's bridge by a veth pair, an
// address, the host-enforced egress policy, the DNS allowlist and the
// published ports. The network/ package implements it; cmd/nucleusd wires
// it in (Options.NewNetwork). Detach is idempotent per container id.
type NetworkAttacher interface {
	// Attach makes id's namespace and network and applies rules and ports
	// before the sandbox starts; a failure undoes what it did.
	Attach(ctx context.Context, id string, rules EgressRules, ports []PortMapping) (NetworkAttachment, error)
	// Restore re-adopts a container after a restart: its policy and
	// published ports are applied again to the namespace that survived.
	Restore(ctx context.Context, id string, rules EgressRules, ports []PortMapping) error
	// Update replaces the egress policy of an attached container.
	Update(ctx context.Context, id string, rules EgressRules) error
	// Detach removes everything Attach made for id; a missing piece is
	// not an error.
	Detach(ctx context.Context, id string) error
	// Reconcile removes every namespace, interface, rule, set, lease and
	// resolver entry of containers live reports as gone.
	Reconcile(ctx context.Context, live func(id string) bool) error
	// Counters are id's network byte and drop counters.
	Counters(ctx context.Context, id string) (NetworkCounters, error)
	// Close stops the resolver and the published-port listeners; the
	// kernel objects stay for the next start.
	Close() error
}

// NetworkAttachment is what Attach gave a container.
type NetworkAttachment struct {
	NetNSPath  string     // the namespace runsc joins
	Address    netip.Addr // the container's address on the bridge
	ResolvConf []byte     // the container's /etc/resolv.conf
}

// NetworkCounters are a container's network counters.
type NetworkCounters struct {
	RxBytes, TxBytes, DroppedPackets uint64
}

// egressPlan is the network part of a create plan.
type egressPlan struct {
	rules EgressRules
	ports []PortMapping
}

// planEgress validates the network fields of spec for caller; ports and
// policy fields are refused outside the "egress" mode.
func (d *Daemon) planEgress(caller auth.Identity, spec *nucleusv1.ContainerSpec, mode string) (*egressPlan, error) {
	if mode != config.NetworkEgress {
		if spec.GetEgress() != nil || len(spec.GetPublishedPorts()) > 0 {
			return nil, errdefs.InvalidArgument("egress and published_ports need network \"egress\" (network is %q)", mode)
		}
		return nil, nil
	}
	if !d.cfg.Network.Enabled || d.net == nil {
		return nil, errdefs.FailedPrecondition("network \"egress\" is off on this host ([network] enabled = false)")
	}
	rules, err := egressRules(&d.cfg.Network, caller, spec.GetEgress())
	if err != nil {
		return nil, err
	}
	ports, err := portMappings(&d.cfg.Network, spec.GetPublishedPorts())
	if err != nil {
		return nil, err
	}
	return &egressPlan{rules: rules, ports: ports}, nil
}

// attachNetwork is the network create step: the container's namespace is
// made and joined to the bridge, its policy applied. The address goes into
// the record with the create's next commit (runsc created, or created and
// running): no commit of its own, since recovery needs none — a create
// that stopped before that commit is undone whole (Detach), and Reconcile
// removes every network object of a record that is not complete with an
// address. A failed attach is undone by the create's undo (Detach).
func (d *Daemon) attachNetwork(ctx context.Context, p *createPlan, rec *store.Container) error {
	begin := time.Now()
	att, err := d.net.Attach(ctx, p.id, p.egress.rules, p.egress.ports)
	if err != nil {
		return fmt.Errorf("attaching the egress network: %w", err)
	}
	p.netnsPath = att.NetNSPath
	// Bound read-only over /etc/resolv.conf, from the secrets' tmpfs.
	p.req.Secrets = append(p.req.Secrets, bundle.Secret{
		Name: "nucleus-resolv.conf", Data: att.ResolvConf, Destination: "/etc/resolv.conf", Mode: 0o444,
	})
	rec.IPAddress = att.Address.String()
	d.log.Debug("network attached for create", zap.String("id", p.id), zap.Duration("took", time.Since(begin)))
	return nil
}

// detachNetwork undoes attachNetwork; with no attacher there is nothing.
func (d *Daemon) detachNetwork(ctx context.Context, id string) {
	if d.net == nil {
		return
	}
	if err := d.net.Detach(ctx, id); err != nil {
		d.log.Error("detaching the egress network; the next start of nucleusd retries", zap.String("id", id), zap.Error(err))
	}
}

// reconcileNetwork, at recovery before serving, makes the host's network
// objects match the store: records of completed creates with an address
// keep theirs (policy and ports re-applied from the stored spec),
// everything else goes (an interrupted create's undo detaches too).
func (d *Daemon) reconcileNetwork(ctx context.Context, recs []*store.Container) {
	if d.net == nil {
		return
	}
	keep := map[string]*store.Container{}
	for _, c := range recs {
		if c.IPAddress != "" && c.CreateStep == store.StepComplete {
			keep[c.ID] = c
		}
	}
	if err := d.net.Reconcile(ctx, func(id string) bool { return keep[id] != nil }); err != nil {
		d.log.Error("recovery: reconciling the egress network", zap.Error(err))
	}
	for id, c := range keep {
		// The stored policy passed the ceilings at create or update; the
		// owner's identity is not at hand, so it is re-read as root's.
		rules, err := egressRules(&d.cfg.Network, auth.Identity{Admin: true}, c.Spec.GetEgress())
		if err != nil {
			d.log.Warn("recovery: a stored egress policy no longer passes the config; the container gets mode none", zap.String("id", id), zap.Error(err))
			rules = EgressRules{Mode: config.EgressNone}
		}
		ports, err := portMappings(&d.cfg.Network, c.Spec.GetPublishedPorts())
		if err != nil {
			d.log.Warn("recovery: stored published ports no longer pass the config; they are dropped", zap.String("id", id), zap.Error(err))
			ports = nil
		}
		if err := d.net.Restore(ctx, id, rules, ports); err != nil {
			d.log.Error("recovery: restoring a container's egress network; it has none until deleted", zap.String("id", id), zap.Error(err))
		}
	}
}

// egressAttributes are a NETWORK_POLICY_UPDATED event's attributes.
func egressAttributes(r EgressRules) map[string]string {
	cidrs := make([]string, len(r.CIDRs))
	for i, c := range r.CIDRs {
		cidrs[i] = c.String()
	}
	ports := make([]string, len(r.Ports))
	for i, p := range r.Ports {
		ports[i] = fmt.Sprint(p)
	}
	return map[string]string{"mode": r.Mode, "domains": strings.Join(r.Domains, ","), "cidrs": strings.Join(cidrs, ","), "ports": strings.Join(ports, ",")}
}

// networkMode is the container's network mode (canonical spelling) and
// runsc's --network for it: "egress" when the spec sets an egress policy
// without a mode, else the daemon's default.
func (d *Daemon) networkMode(spec *nucleusv1.ContainerSpec) (mode, runscNetwork string, err error) {
	mode = spec.GetNetwork()
	if mode == "" {
		mode = d.cfg.Runsc.Network
		if spec.GetEgress() != nil || len(spec.GetPublishedPorts()) > 0 {
			mode = config.NetworkEgress
		}
	}
	mode = config.CanonicalNetwork(mode)
	switch mode {
	case config.NetworkNone, config.NetworkHost:
		runscNetwork = mode
	case config.NetworkLoopback, config.NetworkEgress:
		runscNetwork = config.NetworkSandbox
	default:
		return "", "", errdefs.InvalidArgument("network %q is unknown: use none, loopback, egress or host", mode)
	}
	if !config.NetworkAllowed(d.cfg.Security.AllowedNetworks, mode) {
		return "", "", errdefs.PermissionDenied("network %q is not allowed on this host (security.allowed_networks = %v)", mode, d.cfg.Security.AllowedNetworks)
	}
	return mode, runscNetwork, nil
}
