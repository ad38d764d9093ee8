package network_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap/zaptest"

	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/network"
	"nucleus.dev/nucleus/network/nettest"
)

func TestMain(m *testing.M) { nettest.Main(m) }

const (
	testBridge = "nuctest0"
	blocked    = 700 * time.Millisecond // how long a dropped connection attempt waits
	reachable  = 3 * time.Second
)

var testSubnet = netip.MustParsePrefix("10.88.0.0/24")

// env is one test's world: the internet namespace and a manager whose
// "host" is the test process's own private namespace.
type env struct {
	t      testing.TB
	m      *network.Manager
	leases *network.MemLeases
	cfg    network.Config
	inet   *nettest.Internet
}

func newEnv(t testing.TB, edit func(*network.Config)) *env {
	t.Helper()
	testutil.RequireRoot(t, "to build network namespaces")
	if !nettest.Inside() {
		t.Fatal("root network tests must run through nettest.Main in their own namespace")
	}
	e := &env{t: t, leases: network.NewMemLeases()}
	e.inet = nettest.NewInternet(t, nettest.Options{})
	e.cfg = network.Config{
		BridgeName: testBridge, Subnet: testSubnet, NetnsDir: t.TempDir(),
		Upstream: []netip.AddrPort{netip.AddrPortFrom(nettest.DNSServer, 53)},
	}
	if edit != nil {
		edit(&e.cfg)
	}
	m, err := network.New(e.cfg, e.leases, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.m = m
	t.Cleanup(func() { e.teardown() })
	return e
}

// teardown removes everything the test made in the test namespace, so the
// next test starts from an empty one.
func (e *env) teardown() {
	e.m.Close()
	_ = e.m.Reconcile(context.Background(), func(string) bool { return false })
	for _, name := range []string{testBridge, "uplink0"} {
		if l, err := netlink.LinkByName(name); err == nil {
			_ = netlink.LinkDel(l)
		}
	}
	c, err := nftables.New()
	if err == nil {
		c.FlushRuleset()
		_ = c.Flush()
	}
}

func (e *env) attach(id string, p network.Policy, ports ...network.Port) *network.Attachment {
	e.t.Helper()
	a, err := e.m.Attach(context.Background(), id, p, ports)
	if err != nil {
		e.t.Fatalf("Attach %s: %v", id, err)
	}
	return a
}

func (e *env) dns() netip.AddrPort { return netip.AddrPortFrom(e.m.Config().Gateway(), 53) }

// mustReach fetches the test host's page from a's namespace.
func mustReach(t *testing.T, a *network.Attachment, host netip.Addr) {
	t.Helper()
	body, err := nettest.HTTPGet(a.NetnsPath, netip.AddrPortFrom(host, nettest.HTTPPort), reachable)
	if err != nil {
		t.Fatalf("%s could not reach %s: %v", a.ID, host, err)
	}
	if want := "host " + host.String(); body != want {
		t.Fatalf("%s reached %s but got %q, want %q", a.ID, host, body, want)
	}
}

// mustNotReach checks a TCP connection to to from a's namespace fails.
func mustNotReach(t *testing.T, a *network.Attachment, to netip.AddrPort) {
	t.Helper()
	c, err := nettest.Dial(a.NetnsPath, to, blocked)
	if err == nil {
		c.Close()
		t.Fatalf("%s reached %s, which its policy must drop", a.ID, to)
	}
}

func hostPort(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, nettest.HTTPPort) }

// assertClean checks no per-container object is left: interfaces, pinned
// namespaces, nftables chains, sets and tagged rules, leases.
func assertClean(t *testing.T, e *env) {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "nuc") && l.Attrs().Name != testBridge {
			t.Errorf("interface %s (alias %q) left", l.Attrs().Name, l.Attrs().Alias)
		}
	}
	if ents, err := os.ReadDir(e.cfg.NetnsDir); err != nil || len(ents) > 0 {
		t.Errorf("namespace dir %s: %v entries, err %v", e.cfg.NetnsDir, len(ents), err)
	}
	if ls, _ := e.leases.List(); len(ls) > 0 {
		t.Errorf("leases left: %v", ls)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	chains, err := c.ListChains()
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]bool{"forward": true, "input": true, "egress": true, "postrouting": true, "prerouting": true}
	for _, ch := range chains {
		if !base[ch.Name] {
			t.Errorf("chain %s left", ch.Name)
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if len(r.UserData) > 0 {
				t.Errorf("rule %q left in %s", r.UserData, ch.Name)
			}
		}
	}
	tables, _ := c.ListTables()
	for _, tb := range tables {
		sets, _ := c.GetSets(tb)
		for _, s := range sets {
			if s.Name != "deny" && s.Name != "exempt" {
				t.Errorf("set %s left", s.Name)
			}
		}
	}
}

// serveIn listens on port in a's namespace and answers each connection
// with "container <id>".
func serveIn(t *testing.T, a *network.Attachment, port uint16) {
	t.Helper()
	var ln net.Listener
	err := nettest.InNetns(a.NetnsPath, func() error {
		var err error
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(netip.IPv4Unspecified(), port).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for range 1000 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("container " + a.ID))
			c.Close()
		}
	}()
}
