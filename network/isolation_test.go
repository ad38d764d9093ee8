package network_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/network"
	"nucleus.dev/nucleus/network/nettest"
)

// TestContainerToContainer: containers cannot reach each other, even with
// egress "all", unless the operator enables it.
func TestContainerToContainer(t *testing.T) {
	e := newEnv(t, nil)
	a := e.attach("a", network.Policy{Mode: network.ModeAll})
	b := e.attach("b", network.Policy{Mode: network.ModeAll})
	serveIn(t, b, 8080)
	mustNotReach(t, a, netip.AddrPortFrom(b.Addr, 8080))
	// Without br_netfilter, frames between ports never meet the inet
	// hooks: the bridge table alone must drop them.
	const brnf = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if old, err := os.ReadFile(brnf); err == nil {
		if err := os.WriteFile(brnf, []byte("0"), 0o644); err != nil {
			t.Fatal(err)
		}
		mustNotReach(t, a, netip.AddrPortFrom(b.Addr, 8080))
		if err := os.WriteFile(brnf, old, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	e.teardown()
	e = newEnv(t, func(c *network.Config) { c.AllowContainerToContainer = true })
	a = e.attach("a", network.Policy{Mode: network.ModeAll})
	b = e.attach("b", network.Policy{Mode: network.ModeAll})
	serveIn(t, b, 8080)
	c, err := nettest.Dial(a.NetnsPath, netip.AddrPortFrom(b.Addr, 8080), reachable)
	if err != nil {
		t.Fatalf("with container-to-container enabled: %v", err)
	}
	c.Close()
}

// TestPublishedPort: a published port answers on its host address and on
// no other; a host address the operator does not allow is refused; the
// port closes on Detach.
func TestPublishedPort(t *testing.T) {
	e := newEnv(t, nil)
	lo := netip.MustParseAddr("127.0.0.1")
	a := e.attach("web", network.Policy{Mode: network.ModeNone},
		network.Port{HostIP: lo, HostPort: 18080, ContainerPort: 8000, Proto: "tcp"})
	serveIn(t, a, 8000)
	if got := readAll(t, netip.AddrPortFrom(lo, 18080)); got != "container web" {
		t.Fatalf("published port answered %q", got)
	}
	for _, other := range []netip.Addr{nettest.UplinkDaemon, a.Gateway} {
		if c, err := net.DialTimeout("tcp4", netip.AddrPortFrom(other, 18080).String(), blocked); err == nil {
			c.Close()
			t.Fatalf("published port answered on %s", other)
		}
	}
	_, err := e.m.Attach(t.Context(), "wide", network.Policy{},
		[]network.Port{{HostIP: netip.IPv4Unspecified(), HostPort: 18081, ContainerPort: 80, Proto: "tcp"}})
	if !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("publishing on 0.0.0.0: %v, want permission denied", err)
	}
	if err := e.m.Detach(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp4", "127.0.0.1:18080", blocked); err == nil {
		c.Close()
		t.Fatal("published port still open after Detach")
	}
	assertClean(t, e)
}

func readAll(t *testing.T, to netip.AddrPort) string {
	t.Helper()
	c, err := net.DialTimeout("tcp4", to.String(), reachable)
	if err != nil {
		t.Fatalf("dial %s: %v", to, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(reachable))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read %s: %v", to, err)
	}
	return string(b)
}

// TestWorkloadCannotLoosen: root in the container changes its address to
// another container's, adds addresses and routes, and queries the
// upstream resolver directly; it still reaches nothing new.
func TestWorkloadCannotLoosen(t *testing.T) {
	e := newEnv(t, nil)
	open := e.attach("open", allowlist(nil, "203.0.113.0/24"))
	jail := e.attach("jail", network.Policy{Mode: network.ModeNone})
	mustReach(t, open, nettest.CIDRHost)

	ns, err := netns.GetFromPath(jail.NetnsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	// Take the open container's address (and a fresh one) as well.
	for _, p := range []netip.Prefix{netip.PrefixFrom(open.Addr, 32), netip.MustParsePrefix("10.88.0.200/32")} {
		na, _ := netlink.ParseAddr(p.String())
		if err := h.AddrAdd(eth0, na); err != nil {
			t.Fatal(err)
		}
	}
	sink := netip.AddrPortFrom(nettest.CIDRHost, nettest.UDPSinkPort)
	if err := nettest.SendUDP(open.NetnsPath, netip.Addr{}, sink, []byte("control")); err != nil {
		t.Fatal(err)
	}
	waitDatagrams(t, e, 1)
	for _, src := range []netip.Addr{open.Addr, netip.MustParseAddr("10.88.0.200"), jail.Addr} {
		if err := h.RouteReplace(&netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: prefixNet("203.0.113.0/24"),
			Gw: a16(jail.Gateway), Src: src.AsSlice()}); err != nil {
			t.Fatal(err)
		}
		mustNotReach(t, jail, hostPort(nettest.CIDRHost))
		for range 3 {
			if err := nettest.SendUDP(jail.NetnsPath, src, sink, []byte("leak from "+src.String())); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(blocked)
	if n := e.inet.Datagrams.Load(); n != 1 {
		t.Fatalf("the internet received %d datagrams, want only the control one: a spoofed source got out", n)
	}
	// A route around the gateway: straight to the upstream on the link.
	if err := h.RouteReplace(&netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: prefixNet("192.0.2.0/24"), Scope: netlink.SCOPE_LINK}); err != nil {
		t.Fatal(err)
	}
	mustNotReach(t, jail, netip.AddrPortFrom(nettest.DNSServer, 53))
	if _, _, err := nettest.Lookup(jail.NetnsPath, netip.AddrPortFrom(nettest.DNSServer, 53), "denied.test", blocked); err == nil {
		t.Fatal("the jailed container reached the upstream resolver")
	}
	mustReach(t, open, nettest.CIDRHost) // the victim's traffic still works
}

func prefixNet(s string) *net.IPNet {
	_, n, _ := net.ParseCIDR(s)
	return n
}

func a16(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

func waitDatagrams(t *testing.T, e *env, n int64) {
	t.Helper()
	deadline := time.Now().Add(reachable)
	for e.inet.Datagrams.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the internet received %d datagrams, want %d", e.inet.Datagrams.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
