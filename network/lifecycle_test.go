package network_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap/zaptest"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/network"
	"nucleus.dev/nucleus/network/nettest"
	"nucleus.dev/nucleus/sandbox/netns"
)

// TestAttachFailureUndoes: a failing Attach (its published port is taken)
// leaves nothing; bad ids and double attaches are refused.
func TestAttachFailureUndoes(t *testing.T) {
	e := newEnv(t, nil)
	ln, err := net.Listen("tcp4", "127.0.0.1:18090")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = e.m.Attach(t.Context(), "c1", allowlist([]string{"allowed.test"}),
		[]network.Port{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18090, ContainerPort: 80, Proto: "tcp"}})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("attach with a taken port: %v", err)
	}
	assertClean(t, e)
	for _, id := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := e.m.Attach(t.Context(), id, network.Policy{}, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Fatalf("attach %q: %v, want invalid argument", id, err)
		}
	}
	e.attach("c1", network.Policy{})
	if _, err := e.m.Attach(t.Context(), "c1", network.Policy{}, nil); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second attach: %v", err)
	}
	if err := e.m.Detach(t.Context(), "c1"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Detach(t.Context(), "c1"); err != nil {
		t.Fatalf("second detach: %v", err)
	}
	assertClean(t, e)
}

// TestReconcileAfterCrash: after a crash (the manager's process state
// lost, kernel objects kept, half-made objects lying around) a new manager
// reconciles away everything no live container owns, keeps and restores
// the live one, whose DNS allowlist works again.
func TestReconcileAfterCrash(t *testing.T) {
	e := newEnv(t, nil)
	lo := netip.MustParseAddr("127.0.0.1")
	pol := allowlist([]string{"allowed.test"})
	live := e.attach("live", pol)
	if rcode, _, err := nettest.Lookup(live.NetnsPath, e.dns(), "allowed.test", reachable); err != nil || rcode != dns.RcodeSuccess {
		t.Fatalf("lookup before the crash: %d %v", rcode, err)
	}
	e.attach("dead1", network.Policy{Mode: network.ModeAll}, network.Port{HostIP: lo, HostPort: 18091, ContainerPort: 80, Proto: "tcp"})
	e.attach("dead2", allowlist(nil, "203.0.113.0/24"))
	// Leftovers of attaches cut short at various points.
	if err := e.leases.Put(network.Lease{ID: "half-lease", Addr: netip.MustParseAddr("10.88.0.250")}); err != nil {
		t.Fatal(err)
	}
	if err := netns.Create(filepath.Join(e.cfg.NetnsDir, "half-netns")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.cfg.NetnsDir, ".not-an-id"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.Alias = "nuc0123456789", "half-veth"
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "nup0123456789"}); err != nil {
		t.Fatal(err)
	}
	orphanNFT(t, e.cfg)

	e.m.Close() // the crash: listeners and resolver gone, kernel objects stay
	m2, err := network.New(e.cfg, e.leases, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("New after a crash: %v", err)
	}
	e.m = m2
	if err := m2.Reconcile(t.Context(), func(id string) bool { return id == "live" }); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if c, err := net.DialTimeout("tcp4", "127.0.0.1:18091", blocked); err == nil {
		c.Close()
		t.Fatal("a dead container's published port still answers")
	}
	a, err := m2.Restore(t.Context(), "live", pol, nil)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if a.Addr != live.Addr || a.NetnsPath != live.NetnsPath {
		t.Fatalf("restored %+v, was %+v", a, live)
	}
	mustReach(t, a, nettest.AllowedHost) // learned before the crash, still allowed
	if rcode, _, err := nettest.Lookup(a.NetnsPath, e.dns(), "allowed.test", reachable); err != nil || rcode != dns.RcodeSuccess {
		t.Fatalf("lookup after restore: %d %v", rcode, err)
	}
	mustReach(t, a, nettest.AllowedHost)
	mustNotReach(t, a, hostPort(nettest.CIDRHost))
	if ls, _ := e.leases.List(); len(ls) != 1 || ls[0].ID != "live" {
		t.Fatalf("leases after reconcile: %v", ls)
	}
	if _, err := m2.Restore(t.Context(), "dead1", pol, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("restoring a reconciled container: %v", err)
	}
	if err := m2.Detach(t.Context(), "live"); err != nil {
		t.Fatal(err)
	}
	assertClean(t, e)
}

// orphanNFT leaves a chain and sets named like a container's, with no
// rule, lease or interface pointing at them.
func orphanNFT(t *testing.T, cfg network.Config) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := &nftables.Table{Name: "nucleus", Family: nftables.TableFamilyINet}
	c.AddChain(&nftables.Chain{Table: tb, Name: "c-0123456789"})
	if err := c.AddSet(&nftables.Set{Table: tb, Name: "dns-0123456789", KeyType: nftables.TypeIPAddr}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentAttachDetach: 50 containers attached and detached at once
// get distinct addresses and leave nothing behind.
func TestConcurrentAttachDetach(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const n = 50
	var mu sync.Mutex
	addrs := map[netip.Addr]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("par-%02d", i)
			a, err := e.m.Attach(ctx, id, allowlist([]string{"allowed.test"}, "203.0.113.10/32"), nil)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			if other, dup := addrs[a.Addr]; dup {
				errs <- fmt.Errorf("%s and %s both got %s", id, other, a.Addr)
			}
			addrs[a.Addr] = id
			mu.Unlock()
			errs <- e.m.Detach(ctx, id)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(addrs) != n {
		t.Fatalf("%d containers attached, want %d", len(addrs), n)
	}
	assertClean(t, e)
}

// TestCrashDuringConcurrentAttach: the manager dies while 50 attaches and
// detaches run; a new manager's Reconcile leaves nothing.
func TestCrashDuringConcurrentAttach(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("crash-%02d", i)
			if _, err := e.m.Attach(ctx, id, network.Policy{Mode: network.ModeAll}, nil); err == nil && i%2 == 0 {
				_ = e.m.Detach(ctx, id)
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	e.m.Close()
	wg.Wait()
	m2, err := network.New(e.cfg, e.leases, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.m = m2
	if err := m2.Reconcile(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	assertClean(t, e)
	if ents, _ := os.ReadDir(e.cfg.NetnsDir); len(ents) != 0 {
		t.Fatalf("%d namespaces left", len(ents))
	}
}
