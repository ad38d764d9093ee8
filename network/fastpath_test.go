package network_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"nucleus.dev/nucleus/network"
	"nucleus.dev/nucleus/network/nettest"
	"nucleus.dev/nucleus/sandbox/netns"
)

// Attach does its lease commit, nftables batch and namespace plumbing at
// once and takes pre-made namespaces; these tests hold it to what the
// sequential version guaranteed.

// TestPolicyInPlaceWhenAttachReturns: the first packets sent from the
// namespace the moment Attach returns (as a workload that starts sending
// at once would) already meet the policy: the denied neighbour is never
// reached and its SYNs are counted as dropped by the container's chain,
// the allowed host answers. Several rounds, so both a fresh and a spare
// namespace are covered. (The dial waits `reachable`, not `blocked`: in
// some rounds the very first SYN of a new namespace is lost before the
// host's hooks, old behaviour, and only its retransmission a second later
// reaches the policy.)
func TestPolicyInPlaceWhenAttachReturns(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 3 {
		id := "first-packet-" + string(rune('a'+i))
		a := e.attach(id, allowlist(nil, nettest.CIDRHost.String()+"/32"))
		if c, err := nettest.Dial(a.NetnsPath, hostPort(nettest.NeighbourHost), reachable); err == nil {
			c.Close()
			t.Fatalf("round %d: reached the denied neighbour", i)
		}
		c, err := e.m.Counters(id)
		if err != nil {
			t.Fatal(err)
		}
		if c.DroppedEgress == 0 {
			t.Fatalf("round %d: the first SYN to a denied host was not dropped by the policy (counters %+v)", i, c)
		}
		mustReach(t, a, nettest.CIDRHost)
		if err := e.m.Detach(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	assertClean(t, e)
}

// failingPut is a lease store whose writes fail.
type failingPut struct{ *network.MemLeases }

func (failingPut) Put(network.Lease) error { return errors.New("disk full") }

// TestAttachFailsHalfWayLeavesNothing: when one of the concurrent steps
// fails (the lease commit; the namespace) while the others succeed, the
// undo leaves no interface, namespace, nftables object or lease, and a
// later Detach has nothing to do.
func TestAttachFailsHalfWayLeavesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.m.Close()
	m, err := network.New(e.cfg, failingPut{e.leases}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	if _, err := m.Attach(t.Context(), "lease-fails", allowlist([]string{"allowed.test"}), nil); err == nil {
		t.Fatal("attach with a failing lease store succeeded")
	}
	assertClean(t, e)
	m.Close()

	if e.m, err = network.New(e.cfg, e.leases, zaptest.NewLogger(t)); err != nil {
		t.Fatal(err)
	}
	// The namespace file is taken: only the namespace step fails.
	if err := os.WriteFile(filepath.Join(e.cfg.NetnsDir, "netns-fails"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Attach(t.Context(), "netns-fails", allowlist(nil, "203.0.113.0/24"), nil); err == nil {
		t.Fatal("attach over an existing namespace file succeeded")
	}
	assertClean(t, e)
	if err := e.m.Detach(t.Context(), "netns-fails"); err != nil {
		t.Fatal(err)
	}
}

// TestSpareNamespaces: after an attach the manager keeps fresh namespaces
// ready, the next attach takes one (and works), Close removes them, and a
// crashed daemon's spares are removed by the next Reconcile.
func TestSpareNamespaces(t *testing.T) {
	e := newEnv(t, nil)
	dir := e.cfg.NetnsDir + "-spare"
	spares := func() int {
		ents, _ := os.ReadDir(dir)
		return len(ents)
	}
	e.attach("warm", network.Policy{Mode: network.ModeAll})
	for deadline := time.Now().Add(10 * time.Second); spares() < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if n := spares(); n != 2 {
		t.Fatalf("%d spare namespaces after an attach, want 2", n)
	}
	a := e.attach("from-spare", allowlist(nil, nettest.CIDRHost.String()+"/32"))
	if !netns.Pinned(a.NetnsPath) {
		t.Fatalf("%s is not a pinned namespace", a.NetnsPath)
	}
	mustReach(t, a, nettest.CIDRHost)
	mustNotReach(t, a, hostPort(nettest.NeighbourHost))
	for _, id := range []string{"warm", "from-spare"} {
		if err := e.m.Detach(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	e.m.Close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spare directory after Close: %v", err)
	}
	// A crash leaves spares behind; the next start removes them.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := netns.Create(filepath.Join(dir, "spare-7")); err != nil {
		t.Fatal(err)
	}
	m, err := network.New(e.cfg, e.leases, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	if err := m.Reconcile(t.Context(), func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if n := spares(); n != 0 {
		t.Fatalf("%d spare namespaces left after Reconcile", n)
	}
	assertClean(t, e)
}
