package network

import (
	"context"
	"fmt"
	"net/netip"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/netns"
)

// state is what the Manager keeps for an attached container.
type state struct {
	att         Attachment
	proxies     []*proxy
	droppedBase uint64 // drops counted by rules an Update replaced
}

func (s *state) closePorts() {
	for _, p := range s.proxies {
		p.close()
	}
	s.proxies = nil
}

func (m *Manager) attach(ctx context.Context, id string, p Policy, ports []Port, restore bool) (att *Attachment, err error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if p, err = p.Validate(); err != nil {
		return nil, err
	}
	if err := validatePorts(ports, m.cfg.PublishAddrs); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, fmt.Errorf("network: manager closed: %w", errdefs.ErrUnavailable)
	case m.attached[id] != nil:
		return nil, fmt.Errorf("network of container %s: %w", id, errdefs.ErrAlreadyExists)
	}
	var undo []func() error
	leased := false // a lease of id may have been written: release it on undo
	defer func() {
		if err == nil {
			return
		}
		failed := false
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				failed = true
				m.log.Warn("undoing a failed network attach", zap.String("id", id), zap.Error(uerr))
			}
		}
		switch {
		case !leased:
		case failed:
			// Detach finds a container by its lease: keep it so that the
			// create's undo (Detach) retries what failed here.
			m.log.Warn("kept the lease of a failed network attach for Detach to retry", zap.String("id", id))
		default:
			if uerr := m.leases.Delete(id); uerr != nil {
				m.log.Warn("undoing a failed network attach", zap.String("id", id), zap.Error(uerr))
			}
		}
	}()
	steps := startSteps()
	addr, err := m.pickAddr(id, restore)
	if err != nil {
		return nil, err
	}
	steps.mark("ipam")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if restore {
		path := m.netnsPath(id)
		if !netns.Pinned(path) {
			return nil, fmt.Errorf("network namespace %s of container %s: %w", path, id, errdefs.ErrNotFound)
		}
		if !m.vethExists(id) {
			return nil, fmt.Errorf("network interface %s of container %s: %w", vethName(id), id, errdefs.ErrNotFound)
		}
		// A failed Restore leaves the old rules: Detach removes them.
		if err := m.addContainer(id, addr, p, true); err != nil {
			return nil, err
		}
		steps.mark("nftables")
	} else {
		leased = true
		undo = append(undo, func() error { return netns.Remove(m.netnsPath(id)) },
			func() error { return m.deleteVeth(id) }, func() error { return m.removeContainer(id) })
		if err := m.build(id, addr, p, steps); err != nil {
			return nil, err
		}
	}
	m.dns.set(addr, id, p)
	undo = append(undo, func() error { m.dns.remove(addr); return nil })
	st := &state{att: m.attachment(id, addr, p, ports)}
	undo = append(undo, func() error { st.closePorts(); return nil })
	for _, port := range ports {
		px, err := m.listen(port, addr)
		if err != nil {
			return nil, err
		}
		st.proxies = append(st.proxies, px)
	}
	steps.mark("dns_ports")
	m.attached[id] = st
	a := st.att
	m.log.Info("network attached", zap.String("id", id), zap.Stringer("addr", addr),
		zap.Stringer("egress", p.Mode), zap.Strings("domains", p.Domains), zap.Bool("restored", restore))
	m.log.Debug("network attach steps", append([]zap.Field{zap.String("id", id)}, steps.fields...)...)
	return &a, nil
}

func (m *Manager) attachment(id string, addr netip.Addr, p Policy, ports []Port) Attachment {
	gw := m.cfg.Gateway()
	return Attachment{
		ID: id, NetnsPath: m.netnsPath(id), Addr: addr, Prefix: netip.PrefixFrom(addr, m.cfg.Subnet.Bits()),
		Gateway: gw, DNS: gw, ResolvConf: []byte("nameserver " + gw.String() + "\n"),
		HostVeth: vethName(id), Policy: p, Ports: append([]Port(nil), ports...),
	}
}

// pickAddr returns id's address: its recorded lease on restore, else a
// free one, which build records.
func (m *Manager) pickAddr(id string, restore bool) (netip.Addr, error) {
	leases, err := m.leases.List()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network: reading leases: %w", err)
	}
	used := map[netip.Addr]bool{}
	for _, l := range leases {
		if l.ID == id {
			if restore {
				return l.Addr, nil
			}
			return netip.Addr{}, fmt.Errorf("network: container %s holds a lease already: %w", id, errdefs.ErrAlreadyExists)
		}
		used[l.Addr] = true
	}
	if restore {
		return netip.Addr{}, fmt.Errorf("network: lease of container %s: %w", id, errdefs.ErrNotFound)
	}
	addr, ok := m.freeAddr(used)
	if !ok {
		return netip.Addr{}, fmt.Errorf("network: no free address in %s: %w", m.cfg.Subnet, errdefs.ErrResourceExhausted)
	}
	return addr, nil
}

// freeAddr walks the subnet from the cursor and returns the first address
// that is neither the gateway, the broadcast address nor used.
func (m *Manager) freeAddr(used map[netip.Addr]bool) (netip.Addr, bool) {
	first := m.cfg.Gateway().Next()
	size := 1<<(32-m.cfg.Subnet.Bits()) - 3 // network, gateway, broadcast
	a := m.nextAddr
	if !m.cfg.Subnet.Contains(a) || a.Less(first) {
		a = first
	}
	for range size + 2 {
		next := a.Next()
		if !m.cfg.Subnet.Contains(next) { // a is the broadcast address
			a = first
			continue
		}
		if !used[a] {
			m.nextAddr = next
			return a, true
		}
		a = next
	}
	return netip.Addr{}, false
}
