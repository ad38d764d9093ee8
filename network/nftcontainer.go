package network

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Per-container nftables objects: the chain c-<hash> holding the policy,
// its sets, the egress rule sending the container's packets there and the
// anti-spoofing rules of its bridge port.

func (m *Manager) containerChain(id string) *nftables.Chain {
	return &nftables.Chain{Table: m.inetTable(), Name: chainName(id)}
}

func (m *Manager) containerSets(id string) (cidr, learned, ports *nftables.Set) {
	t := m.inetTable()
	cidr = &nftables.Set{Table: t, Name: cidrSet(id), KeyType: nftables.TypeIPAddr, Interval: true}
	learned = &nftables.Set{Table: t, Name: dnsSet(id), KeyType: nftables.TypeIPAddr, HasTimeout: true,
		Size: uint32(m.cfg.MaxAddrsPerContainer)}
	ports = &nftables.Set{Table: t, Name: portSet(id), KeyType: nftables.TypeInetService}
	return cidr, learned, ports
}

// addContainer creates id's chain, sets and rules in one batch. With
// replace (Restore after a restart) the objects may exist already: the
// same batch deletes id's tagged rules and rewrites the chain and static
// sets, keeping the DNS-learned addresses, so the container is never
// without its rules, not even between two batches.
func (m *Manager) addContainer(id string, addr netip.Addr, p Policy, replace bool) error {
	m.nftMu.Lock()
	defer m.nftMu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("network: nftables: %w", err)
	}
	if replace {
		if _, err := m.queueDeleteTagged(c, func(other string) bool { return other == id }); err != nil {
			return err
		}
	}
	inet, br := m.inetTable(), m.bridgeTable()
	cidr, learned, ports := m.containerSets(id)
	for _, s := range []*nftables.Set{cidr, learned, ports} {
		if err := c.AddSet(s, nil); err != nil {
			return fmt.Errorf("network: set %s: %w", s.Name, err)
		}
	}
	ch := c.AddChain(m.containerChain(id))
	if replace {
		c.FlushChain(ch)
		c.FlushSet(cidr)
		c.FlushSet(ports)
	}
	if err := m.writePolicy(c, ch, cidr, learned, ports, p); err != nil {
		return err
	}
	c.AddRule(rule(inet, m.egressChain(), tag(id), ipv4(), matchAddr(ipv4SaddrOffset, expr.CmpOpEq, addr), then(gotoChain(ch.Name))))
	veth, pre := vethName(id), m.brPrerouting()
	c.AddRule(rule(br, pre, tag(id), iif(veth), etherType(expr.CmpOpEq, unix.ETH_P_IP),
		matchAddr(ipv4SaddrOffset, expr.CmpOpNeq, addr), then(counter(), drop())))
	c.AddRule(rule(br, pre, tag(id), iif(veth), etherType(expr.CmpOpEq, unix.ETH_P_ARP),
		matchAddr(arpSpaOffset, expr.CmpOpNeq, addr), then(counter(), drop())))
	c.AddRule(rule(br, pre, tag(id), iif(veth), etherType(expr.CmpOpNeq, unix.ETH_P_IP),
		etherType(expr.CmpOpNeq, unix.ETH_P_ARP), then(counter(), drop())))
	if err := c.Flush(); err != nil {
		return fmt.Errorf("network: nftables objects of container %s: %w", id, err)
	}
	return nil
}

// writePolicy queues the rules of ch and the static set contents for p
// (the chain and sets must be empty or flushed in the same batch).
func (m *Manager) writePolicy(c *nftables.Conn, ch *nftables.Chain, cidr, learned, ports *nftables.Set, p Policy) error {
	inet := m.inetTable()
	c.AddRule(rule(inet, ch, nil, lookup(ipv4DaddrOffset, m.denySet(), false),
		lookup(ipv4DaddrOffset, m.exemptSet(), true), then(counter(), drop())))
	if len(p.Ports) > 0 {
		els := make([]nftables.SetElement, 0, len(p.Ports))
		for _, port := range slices.Compact(slices.Sorted(slices.Values(p.Ports))) {
			els = append(els, nftables.SetElement{Key: []byte{byte(port >> 8), byte(port)}})
		}
		if err := c.SetAddElements(ports, els); err != nil {
			return fmt.Errorf("network: port set: %w", err)
		}
		c.AddRule(rule(inet, ch, nil, l4proto(expr.CmpOpNeq, unix.IPPROTO_TCP), l4proto(expr.CmpOpNeq, unix.IPPROTO_UDP),
			then(counter(), drop())))
		c.AddRule(rule(inet, ch, nil, dportIn(ports, true), then(counter(), drop())))
	}
	var allowed []netip.Prefix
	switch p.Mode {
	case ModeAll:
		allowed = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	case ModeAllowlist:
		allowed = p.CIDRs
	}
	if els := intervalElements(allowed); len(els) > 0 {
		if err := c.SetAddElements(cidr, els); err != nil {
			return fmt.Errorf("network: CIDR set: %w", err)
		}
	}
	c.AddRule(rule(inet, ch, nil, lookup(ipv4DaddrOffset, cidr, false), then(accept())))
	c.AddRule(rule(inet, ch, nil, lookup(ipv4DaddrOffset, learned, false), then(accept())))
	c.AddRule(rule(inet, ch, nil, then(counter(), drop())))
	return nil
}

// replacePolicy rewrites id's chain and sets for p in one batch; the
// DNS-learned addresses are forgotten. It returns the drop count the old
// rules had, so Counters can keep counting across updates.
func (m *Manager) replacePolicy(id string, p Policy) (dropped uint64, err error) {
	m.nftMu.Lock()
	defer m.nftMu.Unlock()
	dropped, err = m.droppedLocked(id)
	if err != nil {
		return 0, err
	}
	c, err := nftables.New()
	if err != nil {
		return 0, fmt.Errorf("network: nftables: %w", err)
	}
	ch := m.containerChain(id)
	cidr, learned, ports := m.containerSets(id)
	c.FlushChain(ch)
	for _, s := range []*nftables.Set{cidr, learned, ports} {
		c.FlushSet(s)
	}
	if err := m.writePolicy(c, ch, cidr, learned, ports, p); err != nil {
		return 0, err
	}
	if err := c.Flush(); err != nil {
		return 0, fmt.Errorf("network: updating the policy of container %s: %w", id, err)
	}
	return dropped, nil
}

// droppedLocked sums the counters of the drop rules in id's chain.
func (m *Manager) droppedLocked(id string) (uint64, error) {
	c, err := nftables.New()
	if err != nil {
		return 0, fmt.Errorf("network: nftables: %w", err)
	}
	rules, err := c.GetRules(m.inetTable(), m.containerChain(id))
	if err != nil {
		return 0, fmt.Errorf("network: rules of container %s: %w", id, err)
	}
	var n uint64
	for _, r := range rules {
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				n += ctr.Packets
			}
		}
	}
	return n, nil
}
