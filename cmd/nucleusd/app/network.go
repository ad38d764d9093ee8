package app

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/network"
)

// newNetwork starts the egress network ([network]) for the core: the
// network.Manager with the operator's ceilings, its leases in the store.
func newNetwork(cfg *config.Config, stateDir string, log *zap.Logger) func(*store.Store) (core.NetworkAttacher, error) {
	return func(st *store.Store) (core.NetworkAttacher, error) {
		n := cfg.Network
		up, err := upstreams(n.UpstreamResolvers)
		if err != nil {
			return nil, err
		}
		deny := n.Denied()
		if !n.ContainerToContainer {
			deny = append(deny, n.SubnetPrefix())
		}
		var publish []netip.Addr
		for _, a := range n.PublishAddresses {
			publish = append(publish, netip.MustParseAddr(a)) // validated
		}
		m, err := network.New(network.Config{
			BridgeName: n.Bridge, Subnet: n.SubnetPrefix(), Upstream: up, AlwaysDeny: deny, Exempt: n.Exempt(),
			AllowContainerToContainer: n.ContainerToContainer, PublishAddrs: publish, MaxTTL: n.MaxDNSTTL.Std(),
			NetnsDir: filepath.Join(stateDir, "egress-netns"),
		}, storeLeases{st}, log.Named("network"))
		if err != nil {
			return nil, err
		}
		return attacher{m}, nil
	}
}

// upstreams parses [network] upstream_resolvers, or reads the nameservers
// of /etc/resolv.conf when it is empty.
func upstreams(list []string) ([]netip.AddrPort, error) {
	if len(list) == 0 {
		data, err := os.ReadFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("network.upstream_resolvers is empty and /etc/resolv.conf cannot be read: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
				list = append(list, f[1])
			}
		}
	}
	var out []netip.AddrPort
	for _, s := range list {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			out = append(out, ap)
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.AddrPortFrom(a, 53))
		}
	}
	return out, nil
}

// attacher adapts network.Manager to core.NetworkAttacher.
type attacher struct{ m *network.Manager }

func policy(r core.EgressRules) (network.Policy, error) {
	mode, err := network.ParseMode(r.Mode)
	return network.Policy{Mode: mode, Domains: r.Domains, CIDRs: r.CIDRs, Ports: r.Ports}, err
}

func ports(ps []core.PortMapping) []network.Port {
	out := make([]network.Port, len(ps))
	for i, p := range ps {
		out[i] = network.Port{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Proto: p.Protocol}
	}
	return out
}

func (a attacher) Attach(ctx context.Context, id string, r core.EgressRules, ps []core.PortMapping) (core.NetworkAttachment, error) {
	p, err := policy(r)
	if err != nil {
		return core.NetworkAttachment{}, err
	}
	att, err := a.m.Attach(ctx, id, p, ports(ps))
	if err != nil {
		return core.NetworkAttachment{}, err
	}
	return core.NetworkAttachment{NetNSPath: att.NetnsPath, Address: att.Addr, ResolvConf: att.ResolvConf}, nil
}

func (a attacher) Restore(ctx context.Context, id string, r core.EgressRules, ps []core.PortMapping) error {
	p, err := policy(r)
	if err != nil {
		return err
	}
	_, err = a.m.Restore(ctx, id, p, ports(ps))
	return err
}

func (a attacher) Update(ctx context.Context, id string, r core.EgressRules) error {
	p, err := policy(r)
	if err != nil {
		return err
	}
	return a.m.Update(ctx, id, p)
}

func (a attacher) Detach(ctx context.Context, id string) error { return a.m.Detach(ctx, id) }

func (a attacher) Reconcile(ctx context.Context, live func(string) bool) error {
	return a.m.Reconcile(ctx, live)
}

func (a attacher) Counters(_ context.Context, id string) (core.NetworkCounters, error) {
	c, err := a.m.Counters(id)
	return core.NetworkCounters{RxBytes: c.RxBytes, TxBytes: c.TxBytes, DroppedPackets: c.DroppedEgress}, err
}

func (a attacher) Close() error { return a.m.Close() }

// storeLeases keeps the network's leases in nucleusd's store.
type storeLeases struct{ st *store.Store }

func (l storeLeases) List() ([]network.Lease, error) {
	ls, err := l.st.NetLeases()
	out := make([]network.Lease, 0, len(ls))
	for _, x := range ls {
		if a, perr := netip.ParseAddr(x.Addr); perr == nil {
			out = append(out, network.Lease{ID: x.ID, Addr: a})
		}
	}
	return out, err
}

func (l storeLeases) Put(x network.Lease) error {
	return l.st.PutNetLease(store.NetLease{ID: x.ID, Addr: x.Addr.String()})
}

func (l storeLeases) Delete(id string) error { return l.st.DeleteNetLease(id) }
