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
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				m.log.Warn("undoing a failed network attach", zap.String("id", id), zap.Error(uerr))
			}
		}
	}()
	addr, err := m.lease(id, restore, &undo)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := m.netnsPath(id)
	if restore {
		if !netns.Pinned(path) {
			return nil, fmt.Errorf("network namespace %s of container %s: %w", path, id, errdefs.ErrNotFound)
		}
		if !m.vethExists(id) {
			return nil, fmt.Errorf("network interface %s of container %s: %w", vethName(id), id, errdefs.ErrNotFound)
		}
	} else {
		if err := netns.Create(path); err != nil {
			return nil, fmt.Errorf("network of container %s: %w", id, err)
		}
		undo = append(undo, func() error { return netns.Remove(path) })
		undo = append(undo, func() error { return m.deleteVeth(id) })
		if err := m.plumb(id, path, addr); err != nil {
			return nil, err
		}
	}
	if !restore { // a failed Restore leaves the old rules: Detach removes them
		undo = append(undo, func() error { return m.removeContainer(id) })
	}
	if err := m.addContainer(id, addr, p, restore); err != nil {
		return nil, err
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
	m.attached[id] = st
	a := st.att
	m.log.Info("network attached", zap.String("id", id), zap.Stringer("addr", addr),
		zap.Stringer("egress", p.Mode), zap.Strings("domains", p.Domains), zap.Bool("restored", restore))
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

// lease returns id's address: its recorded lease on restore, a new one
// otherwise (queuing its release on undo).
func (m *Manager) lease(id string, restore bool, undo *[]func() error) (netip.Addr, error) {
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
	if err := m.leases.Put(Lease{ID: id, Addr: addr}); err != nil {
		return netip.Addr{}, fmt.Errorf("network: recording the lease of %s: %w", id, err)
	}
	*undo = append(*undo, func() error { return m.leases.Delete(id) })
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
