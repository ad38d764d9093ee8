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

// detach removes id's objects. The slow part (the veth's removal waits
// for the kernel's RCU grace period, ~10 ms) runs without m.mu, so the
// teardown of one container never holds up another's attach; the lease,
// released last, keeps the address from being handed out meanwhile.
func (m *Manager) detach(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	steps := startSteps()
	m.mu.Lock()
	addr, leased, err := m.forgetLocked(id)
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("network: detaching container %s: %w", id, err)
	}
	if !leased && !addr.IsValid() {
		// Attach records the lease before it makes anything and detach
		// releases it after everything else is gone, so without a lease
		// there is nothing to remove (a container that never had this
		// network, or one detached already): no nftables listing and no
		// store commit. Reconcile, which also finds objects without a
		// lease (a lost store), always takes the full path.
		return nil
	}
	m.teardown.RLock()
	errs := m.removeHost(id, addr, steps)
	m.teardown.RUnlock()
	m.mu.Lock()
	errs = append(errs, m.releaseLease(id, steps))
	m.mu.Unlock()
	return m.detached(id, errs, steps)
}

// detachLocked is detach for Reconcile, which holds m.mu and m.teardown.
func (m *Manager) detachLocked(id string) error {
	steps := startSteps()
	addr, _, err := m.forgetLocked(id)
	errs := append(m.removeHost(id, addr, steps), err, m.releaseLease(id, steps))
	return m.detached(id, errs, steps)
}

// forgetLocked drops id's attachment, published ports and resolver entry
// and returns its address (from the attachment or the lease) and whether
// it holds a lease.
func (m *Manager) forgetLocked(id string) (addr netip.Addr, leased bool, err error) {
	if st := m.attached[id]; st != nil {
		st.closePorts()
		addr = st.att.Addr
		delete(m.attached, id)
	}
	leases, err := m.leases.List()
	for _, l := range leases {
		if l.ID == id {
			addr, leased = l.Addr, true
		}
	}
	if addr.IsValid() && m.dns != nil {
		if e := m.dns.entry(addr); e != nil && e.id == id {
			m.dns.remove(addr)
		}
	}
	return addr, leased, err
}

// removeHost removes id's kernel objects, continuing past failures so one
// stuck object does not keep the others alive.
func (m *Manager) removeHost(id string, addr netip.Addr, steps *stepTimes) []error {
	steps.mark("forget")
	errs := []error{m.removeContainer(id)}
	steps.mark("nftables")
	errs = append(errs, m.deleteVeth(id))
	steps.mark("veth")
	errs = append(errs, netns.Remove(m.netnsPath(id)))
	steps.mark("netns")
	if addr.IsValid() {
		forgetConntrack(addr)
	}
	steps.mark("conntrack")
	return errs
}

func (m *Manager) releaseLease(id string, steps *stepTimes) error {
	defer steps.mark("lease_release")
	if err := m.leases.Delete(id); err != nil {
		return fmt.Errorf("network: releasing the lease of %s: %w", id, err)
	}
	return nil
}

func (m *Manager) detached(id string, errs []error, steps *stepTimes) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network: detaching container %s: %w", id, err)
	}
	m.log.Info("network detached", zap.String("id", id))
	m.log.Debug("network detach steps", append([]zap.Field{zap.String("id", id)}, steps.fields...)...)
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
