package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/network/nettest"
)

// TestE2ENetworkChurnCrash: 50 containers on the egress network are
// created and deleted concurrently and nucleusd is killed with SIGKILL in
// the middle; after a restart and the removal of what survived, nothing is
// left that no container owns: no veth, namespace, nftables chain or set,
// lease (listed in the daemon's namespace and its store).
func TestE2ENetworkChurnCrash(t *testing.T) {
	e := newNetEnv(t, "")
	const total, workers = 50, 8
	var created, calls atomic.Int64
	killed := make(chan struct{})
	var once sync.Once
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				ctr, err := e.c.Create(ctx, egressSpec(fmt.Sprintf("churn-%d", i), allowlistPolicy([]string{"allowed.test"}, []string{nettest.CIDRHost.String()})))
				calls.Add(1)
				if err == nil {
					if created.Add(1) == total/2 {
						once.Do(func() { close(killed) })
					}
					if i%2 == 0 { // half are deleted at once, half left for the crash
						_, _ = e.c.Delete(ctx, ctr.GetId(), true)
					}
				}
				cancel()
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range total {
			select {
			case next <- i:
			case <-time.After(3 * time.Minute):
				return
			}
		}
	}()
	select {
	case <-killed:
	case <-time.After(4 * time.Minute):
		t.Errorf("only %d of %d creates succeeded before the time limit", created.Load(), total)
	}
	e.d.Kill9()
	wg.Wait()
	t.Logf("%d creates answered, %d succeeded before and around the kill", calls.Load(), created.Load())
	e.d.Start()
	e.c = e.d.Client() // the old connection backs off after the kill
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	list, err := e.c.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range list {
		// An interrupted create's undo may remove it first.
		if _, err := e.c.Delete(ctx, ct.GetId(), true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("delete %s after the restart: %v", ct.GetName(), err)
		}
	}
	// Interrupted creates are undone in the background: allow them a while.
	var left []string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if left = e.netLeftovers(t); len(left) == 0 {
			break
		}
	}
	for _, l := range left {
		t.Errorf("left behind in the daemon's namespace: %s", l)
	}
	e.d.Stop()
	if n := countLeases(t, filepath.Join(e.d.Root, "nucleus.db")); n != 0 {
		t.Errorf("%d leases left in the store", n)
	}
}

// netLeftovers lists the per-container network objects in the daemon's
// namespace: host veths and the containers' nftables chains and sets.
func (e *netEnv) netLeftovers(t *testing.T) []string {
	t.Helper()
	var out []string
	err := nettest.InNetns(e.daemonNS, func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if name := l.Attrs().Name; strings.HasPrefix(name, "nuc") && name != "nucleus0" || strings.HasPrefix(name, "nup") {
				out = append(out, "link "+name)
			}
		}
		conn, err := nftables.New()
		if err != nil {
			return err
		}
		chains, err := conn.ListChains()
		if err != nil {
			return err
		}
		tables := map[string]*nftables.Table{}
		for _, c := range chains {
			tables[c.Table.Name+fmt.Sprint(c.Table.Family)] = c.Table
			if strings.HasPrefix(c.Name, "c-") {
				out = append(out, "nftables chain "+c.Name)
			}
		}
		for _, tb := range tables {
			sets, err := conn.GetSets(tb)
			if err != nil {
				return err
			}
			for _, s := range sets {
				for _, p := range []string{"cidr-", "dns-", "port-"} {
					if strings.HasPrefix(s.Name, p) {
						out = append(out, "nftables set "+s.Name)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing the daemon namespace's objects: %v", err)
	}
	out = append(out, e.d.Leftovers()...)
	return out
}

// countLeases counts the egress network's leases in a stopped daemon's store.
func countLeases(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	_ = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte("net-leases")); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}
