package network

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// writeBase creates or rewrites the base chains and the deny/exempt sets in
// one batch; containers' chains, sets and tagged rules are left alone.
func (m *Manager) writeBase() error {
	m.nftMu.Lock()
	defer m.nftMu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("network: nftables: %w", err)
	}
	inet, br := c.AddTable(m.inetTable()), c.AddTable(m.bridgeTable())
	bridge := m.cfg.BridgeName

	deny, exempt := m.denySet(), m.exemptSet()
	for _, s := range []struct {
		set      *nftables.Set
		prefixes []netip.Prefix
	}{{deny, m.cfg.AlwaysDeny}, {exempt, m.cfg.Exempt}} {
		if err := c.AddSet(s.set, nil); err != nil {
			return fmt.Errorf("network: set %s: %w", s.set.Name, err)
		}
		c.FlushSet(s.set)
		if els := intervalElements(s.prefixes); len(els) > 0 {
			if err := c.SetAddElements(s.set, els); err != nil {
				return fmt.Errorf("network: set %s: %w", s.set.Name, err)
			}
		}
	}
	c.AddChain(m.egressChain())
	c.AddChain(m.brPrerouting())

	fwd := c.AddChain(baseChain(inet, chainForward, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter))
	c.FlushChain(fwd)
	c.AddRule(rule(inet, fwd, nil, ctEstablished(), then(accept())))
	if m.cfg.AllowContainerToContainer {
		// Frames between ports meet this hook too when br_netfilter is
		// loaded (and routed ones via the gateway always do).
		c.AddRule(rule(inet, fwd, nil, iif(bridge), oif(bridge), ipv4(),
			matchPrefix(ipv4DaddrOffset, m.cfg.Subnet), then(accept())))
	}
	c.AddRule(rule(inet, fwd, nil, iif(bridge), then(&expr.Verdict{Kind: expr.VerdictJump, Chain: chainEgress})))
	c.AddRule(rule(inet, fwd, nil, iif(bridge), then(counter(), drop())))
	c.AddRule(rule(inet, fwd, nil, oif(bridge), then(counter(), drop())))

	in := c.AddChain(baseChain(inet, chainInput, nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter))
	c.FlushChain(in)
	c.AddRule(rule(inet, in, nil, iif(bridge), ctEstablished(), then(accept())))
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		c.AddRule(rule(inet, in, nil, iif(bridge), ipv4(), matchAddr(ipv4DaddrOffset, expr.CmpOpEq, m.cfg.Gateway()),
			l4proto(expr.CmpOpEq, proto), dport(m.cfg.DNSPort), then(accept())))
	}
	c.AddRule(rule(inet, in, nil, iif(bridge), then(counter(), drop())))

	nat := c.AddChain(baseChain(inet, chainPostrout, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource))
	c.FlushChain(nat)
	c.AddRule(rule(inet, nat, nil, ipv4(), matchPrefix(ipv4SaddrOffset, m.cfg.Subnet), notOif(bridge), then(&expr.Masq{})))

	brFwd := c.AddChain(baseChain(br, chainBrForward, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter))
	c.FlushChain(brFwd)
	if !m.cfg.AllowContainerToContainer {
		c.AddRule(rule(br, brFwd, nil,
			matchMeta(expr.MetaKeyIIFNAME, expr.CmpOpEq, []byte(vethPrefix)),
			matchMeta(expr.MetaKeyOIFNAME, expr.CmpOpEq, []byte(vethPrefix)),
			then(counter(), drop())))
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("network: writing the base nftables tables %s: %w", m.cfg.Table, err)
	}
	return nil
}
