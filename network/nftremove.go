package network

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// removeObjects deletes, in one batch, the tagged rules whose id dead
// reports true and the chains and sets whose hash is not in keep.
func (m *Manager) removeObjects(dead func(id string) bool, keep func(hash string) bool) error {
	m.nftMu.Lock()
	defer m.nftMu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("network: nftables: %w", err)
	}
	queued, err := m.queueDeleteTagged(c, dead)
	if err != nil {
		return err
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("network: listing chains: %w", err)
	}
	for _, ch := range chains {
		if h, ok := strings.CutPrefix(ch.Name, chainPref); ok && ch.Table.Name == m.cfg.Table && !keep(h) {
			c.FlushChain(ch)
			c.DelChain(ch)
			queued++
		}
	}
	sets, err := c.GetSets(m.inetTable())
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("network: listing sets: %w", err)
	}
	for _, s := range sets {
		for _, pref := range []string{cidrPref, dnsPref, portPref} {
			if h, ok := strings.CutPrefix(s.Name, pref); ok && !keep(h) {
				c.DelSet(s)
				queued++
			}
		}
	}
	if queued == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("network: deleting nftables objects: %w", err)
	}
	return nil
}

// queueDeleteTagged queues the deletion of the tagged rules whose id
// match reports true and returns how many it queued.
func (m *Manager) queueDeleteTagged(c *nftables.Conn, match func(id string) bool) (int, error) {
	n := 0
	for _, ch := range []*nftables.Chain{m.egressChain(), m.brPrerouting()} {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			return 0, fmt.Errorf("network: listing rules of %s: %w", ch.Name, err)
		}
		for _, r := range rules {
			if id, ok := tagID(r.UserData); ok && match(id) {
				if err := c.DelRule(r); err != nil {
					return 0, fmt.Errorf("network: deleting a rule of %s: %w", id, err)
				}
				n++
			}
		}
	}
	return n, nil
}

// removeContainer deletes id's nftables objects; missing ones are fine.
func (m *Manager) removeContainer(id string) error {
	h := idHash(id)
	return m.removeObjects(func(other string) bool { return other == id }, func(hash string) bool { return hash != h })
}

// taggedIDs lists the ids in the user data of per-container rules.
func (m *Manager) taggedIDs() ([]string, error) {
	m.nftMu.Lock()
	defer m.nftMu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("network: nftables: %w", err)
	}
	var ids []string
	for _, ch := range []*nftables.Chain{m.egressChain(), m.brPrerouting()} {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			return nil, fmt.Errorf("network: listing rules of %s: %w", ch.Name, err)
		}
		for _, r := range rules {
			if id, ok := tagID(r.UserData); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}
