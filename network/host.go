package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// setup makes the bridge, turns on forwarding, writes the base nftables
// objects and starts the resolver. It is idempotent: after a restart it
// keeps every container's objects and rewrites only the base chains (in one
// atomic batch, so live containers are never unfiltered).
func (m *Manager) setup() error {
	if err := os.MkdirAll(m.cfg.NetnsDir, 0o755); err != nil {
		return fmt.Errorf("network: namespace directory: %w", err)
	}
	if err := m.setupBridge(); err != nil {
		return err
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("network: enabling IPv4 forwarding: %w", err)
	}
	hostAddrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("network: listing host addresses: %w", err)
	}
	for _, a := range hostAddrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
			m.cfg.AlwaysDeny = append(m.cfg.AlwaysDeny, netip.PrefixFrom(ip, 32))
		}
	}
	if err := m.writeBase(); err != nil {
		return err
	}
	r, err := startResolver(m)
	if err != nil {
		return err
	}
	m.dns = r
	if m.spares, err = newSpares(m.cfg.NetnsDir+"-spare", m.log); err != nil {
		return err
	}
	return nil
}

func (m *Manager) setupBridge() error {
	br, err := netlink.LinkByName(m.cfg.BridgeName)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		attrs := netlink.NewLinkAttrs()
		attrs.Name = m.cfg.BridgeName
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("network: creating bridge %s: %w", m.cfg.BridgeName, err)
		}
		if br, err = netlink.LinkByName(m.cfg.BridgeName); err != nil {
			return fmt.Errorf("network: bridge %s: %w", m.cfg.BridgeName, err)
		}
	case err != nil:
		return fmt.Errorf("network: bridge %s: %w", m.cfg.BridgeName, err)
	case br.Type() != "bridge":
		return fmt.Errorf("network: %s exists and is a %s, not a bridge", m.cfg.BridgeName, br.Type())
	}
	gw := netip.PrefixFrom(m.cfg.Gateway(), m.cfg.Subnet.Bits())
	addr, err := netlink.ParseAddr(gw.String())
	if err != nil {
		return fmt.Errorf("network: gateway address: %w", err)
	}
	if err := netlink.AddrReplace(br, addr); err != nil {
		return fmt.Errorf("network: address %s on %s: %w", gw, m.cfg.BridgeName, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("network: bringing %s up: %w", m.cfg.BridgeName, err)
	}
	return nil
}

// Base objects.
const (
	chainForward    = "forward"
	chainInput      = "input"
	chainEgress     = "egress" // ip saddr <container> goto c-<hash>, one rule per container
	chainPostrout   = "postrouting"
	chainBrPrerout  = "prerouting" // anti-spoofing, three rules per container
	chainBrForward  = "forward"
	setDeny         = "deny"
	setExempt       = "exempt"
	dnsTCPAndUDPTag = "base"
)

func (m *Manager) inetTable() *nftables.Table {
	return &nftables.Table{Name: m.cfg.Table, Family: nftables.TableFamilyINet}
}

func (m *Manager) bridgeTable() *nftables.Table {
	return &nftables.Table{Name: m.cfg.Table, Family: nftables.TableFamilyBridge}
}

func baseChain(t *nftables.Table, name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{Table: t, Name: name, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept}
}

func (m *Manager) egressChain() *nftables.Chain {
	return &nftables.Chain{Table: m.inetTable(), Name: chainEgress}
}

func (m *Manager) brPrerouting() *nftables.Chain {
	return baseChain(m.bridgeTable(), chainBrPrerout, nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityFilter)
}

func (m *Manager) denySet() *nftables.Set {
	return &nftables.Set{Table: m.inetTable(), Name: setDeny, KeyType: nftables.TypeIPAddr, Interval: true}
}

func (m *Manager) exemptSet() *nftables.Set {
	return &nftables.Set{Table: m.inetTable(), Name: setExempt, KeyType: nftables.TypeIPAddr, Interval: true}
}
