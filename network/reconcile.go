package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"

	"nucleus.dev/nucleus/sandbox/netns"
)

// reconcile gathers every container id any host object names (leases,
// veth aliases, namespace files, tagged nftables rules, attachments),
// detaches those live reports dead, then deletes nftables chains and sets
// whose hash belongs to no live container and "nuc" interfaces without a
// live owner.
func (m *Manager) reconcile(ctx context.Context, live func(id string) bool) error {
	m.teardown.Lock()
	defer m.teardown.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	ids, links, err := m.knownIDs()
	if err != nil {
		return err
	}
	// Spare namespaces belong to no container; a dead daemon's are
	// leftovers (no container uses them yet: Reconcile runs before any
	// attach at start).
	errs := []error{m.spares.clear()}
	keep := map[string]bool{}
	removed := 0
	for id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if checkID(id) == nil && live(id) {
			keep[idHash(id)] = true
			continue
		}
		removed++
		if checkID(id) != nil { // a name no container has: drop its lease and file
			errs = append(errs, m.leases.Delete(id))
			if filepath.Base(id) == id && id != "." && id != ".." {
				errs = append(errs, netns.Remove(filepath.Join(m.cfg.NetnsDir, id)))
			}
			continue
		}
		errs = append(errs, m.detachLocked(id))
	}
	for _, l := range links {
		if h := l.Attrs().Name[len(vethPrefix):]; !keep[h] {
			errs = append(errs, deleteLink(l.Attrs().Name))
		}
	}
	errs = append(errs, m.removeObjects(func(id string) bool { return !keep[idHash(id)] }, func(h string) bool { return keep[h] }))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network: reconcile: %w", err)
	}
	m.log.Info("network reconciled", zap.Int("live", len(keep)), zap.Int("removed", removed))
	return nil
}

// knownIDs returns the ids named by any object, and the host's "nuc"
// interfaces.
func (m *Manager) knownIDs() (map[string]bool, []netlink.Link, error) {
	ids := map[string]bool{}
	for id := range m.attached {
		ids[id] = true
	}
	leases, err := m.leases.List()
	if err != nil {
		return nil, nil, fmt.Errorf("network: reading leases: %w", err)
	}
	for _, l := range leases {
		ids[l.ID] = true
	}
	all, err := netlink.LinkList()
	if err != nil {
		return nil, nil, fmt.Errorf("network: listing interfaces: %w", err)
	}
	var links []netlink.Link
	for _, l := range all {
		if isVethName(l.Attrs().Name) && l.Type() == "veth" {
			links = append(links, l)
			if l.Attrs().Alias != "" {
				ids[l.Attrs().Alias] = true
			}
		}
	}
	entries, err := os.ReadDir(m.cfg.NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("network: listing %s: %w", m.cfg.NetnsDir, err)
	}
	for _, e := range entries {
		ids[e.Name()] = true
	}
	tagged, err := m.taggedIDs()
	if err != nil {
		return nil, nil, err
	}
	for _, id := range tagged {
		ids[id] = true
	}
	return ids, links, nil
}
