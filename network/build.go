package network

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/sandbox/netns"
)

// build makes a new attachment's host objects with three independent
// pieces of work at once, since none needs another's result: the lease
// commit (the store's disk), the nftables batch (rules name the veth and
// address, which need not exist yet) and the namespace with its veth pair
// (netlink). It returns when all three are done, so the policy is in place
// before the caller can start anything in the namespace. On failure the
// caller's undo removes whatever got made; a crash in the middle leaves
// objects that Reconcile finds by lease, veth alias, namespace file or rule
// tag. m.mu is held, so the address stays this container's.
func (m *Manager) build(id string, addr netip.Addr, p Policy, steps *stepTimes) error {
	var (
		wg                  sync.WaitGroup
		leaseErr, nftErr    error
		leaseTook, nftTook  time.Duration
		netnsTook, vethTook time.Duration
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		begin := time.Now()
		if err := m.leases.Put(Lease{ID: id, Addr: addr}); err != nil {
			leaseErr = fmt.Errorf("network: recording the lease of %s: %w", id, err)
		}
		leaseTook = time.Since(begin)
	}()
	go func() {
		defer wg.Done()
		begin := time.Now()
		nftErr = m.addContainer(id, addr, p, false)
		nftTook = time.Since(begin)
	}()
	plumbErr := func() error {
		begin := time.Now()
		path := m.netnsPath(id)
		if !m.spares.take(path) {
			if err := netns.Create(path); err != nil {
				return fmt.Errorf("network of container %s: %w", id, err)
			}
		}
		netnsTook = time.Since(begin)
		err := m.plumb(id, path, addr)
		vethTook = time.Since(begin) - netnsTook
		return err
	}()
	wg.Wait()
	steps.add(zap.Duration("lease_commit", leaseTook), zap.Duration("nftables", nftTook),
		zap.Duration("netns", netnsTook), zap.Duration("veth", vethTook))
	steps.mark("build") // wall time of the three together
	return errors.Join(plumbErr, nftErr, leaseErr)
}
