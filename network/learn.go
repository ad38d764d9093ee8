package network

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"
)

// learnSlack keeps a learned address allowed a little longer than the TTL
// the container was told, so a connection made just as its cache expires
// is not dropped.
const learnSlack = 5 * time.Second

// learn lets addrs through e's container's DNS-learned set for ttl (plus
// slack). An address already there with less time left is refreshed by a
// delete and add in one batch, so it is never absent in between.
func (m *Manager) learn(e *dnsEntry, addrs []netip.Addr, ttl time.Duration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stale {
		return fmt.Errorf("network: the policy of %s changed during the query", e.id)
	}
	now := time.Now()
	timeout := (ttl + learnSlack).Truncate(time.Second)
	expires := now.Add(timeout)
	var fresh, refresh []nftables.SetElement
	for _, a := range addrs {
		el := nftables.SetElement{Key: a.AsSlice(), Timeout: timeout}
		switch old, ok := e.learned[a]; {
		case ok && old.After(expires.Add(-learnSlack)):
			continue // still allowed for about as long
		case ok && old.After(now.Add(time.Second)):
			refresh = append(refresh, el)
		default:
			fresh = append(fresh, el)
		}
	}
	if len(fresh)+len(refresh) == 0 {
		return nil
	}
	_, learned, _ := m.containerSets(e.id)
	m.nftMu.Lock()
	defer m.nftMu.Unlock()
	err := m.addElements(learned, fresh, refresh)
	if err != nil && len(refresh) > 0 {
		// An entry expired in the kernel since we looked: add them all.
		err = m.addElements(learned, append(fresh, refresh...), nil)
	}
	if err != nil {
		return fmt.Errorf("network: allowing %d addresses for %s: %w", len(fresh)+len(refresh), e.id, err)
	}
	if len(e.learned) > 4*m.cfg.MaxAddrsPerContainer {
		for a, t := range e.learned {
			if t.Before(now) {
				delete(e.learned, a)
			}
		}
	}
	for _, el := range append(fresh, refresh...) {
		a, _ := netip.AddrFromSlice(el.Key)
		e.learned[a] = expires
	}
	return nil
}

// addElements adds fresh and replaces refresh in one batch.
func (m *Manager) addElements(s *nftables.Set, fresh, refresh []nftables.SetElement) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	if len(refresh) > 0 {
		if err := c.SetDeleteElements(s, refresh); err != nil {
			return err
		}
	}
	if err := c.SetAddElements(s, append(fresh, refresh...)); err != nil {
		return err
	}
	return c.Flush()
}
