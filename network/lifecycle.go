package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/netns"
)

func (m *Manager) detach(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.detachLocked(id)
}

// detachLocked removes everything of id, continuing past failures so one
// stuck object does not keep the others alive.
func (m *Manager) detachLocked(id string) error {
	var errs []error
	var addr netip.Addr
	if st := m.attached[id]; st != nil {
		st.closePorts()
		addr = st.att.Addr
		delete(m.attached, id)
	}
	leases, err := m.leases.List()
	errs = append(errs, err)
	for _, l := range leases {
		if l.ID == id {
			addr = l.Addr
		}
	}
	if addr.IsValid() && m.dns != nil {
		if e := m.dns.entry(addr); e != nil && e.id == id {
			m.dns.remove(addr)
		}
	}
	errs = append(errs, m.removeContainer(id), m.deleteVeth(id), netns.Remove(m.netnsPath(id)))
	if addr.IsValid() {
		forgetConntrack(addr)
	}
	if err := m.leases.Delete(id); err != nil {
		errs = append(errs, fmt.Errorf("network: releasing the lease of %s: %w", id, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network: detaching container %s: %w", id, err)
	}
	m.log.Info("network detached", zap.String("id", id))
	return nil
}

func (m *Manager) update(ctx context.Context, id string, p Policy) error {
	if err := checkID(id); err != nil {
		return err
	}
	p, err := p.Validate()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.attached[id]
	if st == nil {
		return fmt.Errorf("network of container %s: %w", id, errdefs.ErrNotFound)
	}
	m.dns.set(st.att.Addr, id, p) // first, so no answer is learned for the old policy after the flush
	dropped, err := m.replacePolicy(id, p)
	if err != nil {
		m.dns.set(st.att.Addr, id, st.att.Policy)
		return err
	}
	st.droppedBase += dropped
	old := st.att.Policy
	st.att.Policy = p
	m.log.Info("network policy updated", zap.String("id", id),
		zap.Stringer("old_egress", old.Mode), zap.Strings("old_domains", old.Domains), zap.Any("old_cidrs", old.CIDRs),
		zap.Stringer("egress", p.Mode), zap.Strings("domains", p.Domains), zap.Any("cidrs", p.CIDRs), zap.Any("ports", p.Ports))
	return nil
}

func (m *Manager) counters(id string) (Counters, error) {
	m.mu.Lock()
	st := m.attached[id]
	var base uint64
	if st != nil {
		base = st.droppedBase
	}
	m.mu.Unlock()
	if st == nil {
		return Counters{}, fmt.Errorf("network of container %s: %w", id, errdefs.ErrNotFound)
	}
	link, err := netlink.LinkByName(vethName(id))
	if err != nil {
		return Counters{}, fmt.Errorf("network: interface of %s: %w", id, err)
	}
	var c Counters
	if s := link.Attrs().Statistics; s != nil {
		// The host side receives what the container sends.
		c = Counters{RxBytes: s.TxBytes, TxBytes: s.RxBytes, RxPackets: s.TxPackets, TxPackets: s.RxPackets}
	}
	m.nftMu.Lock()
	dropped, err := m.droppedLocked(id)
	m.nftMu.Unlock()
	if err != nil {
		return Counters{}, err
	}
	c.DroppedEgress = base + dropped
	return c, nil
}

// forgetConntrack drops the connection-tracking entries of a released
// address, so a later container given the same address inherits no
// "established" flow. Best effort: the entries would time out anyway.
func forgetConntrack(addr netip.Addr) {
	var filters []netlink.CustomConntrackFilter
	for _, dir := range []netlink.ConntrackFilterType{netlink.ConntrackOrigSrcIP, netlink.ConntrackReplyDstIP} {
		f := &netlink.ConntrackFilter{}
		if f.AddIP(dir, net.IP(addr.AsSlice())) == nil {
			filters = append(filters, f)
		}
	}
	_, _ = netlink.ConntrackDeleteFilters(netlink.ConntrackTable, netlink.FAMILY_V4, filters...)
}
