package network_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"nucleus.dev/nucleus/network"
	"nucleus.dev/nucleus/network/nettest"
)

func allowlist(domains []string, cidrs ...string) network.Policy {
	p := network.Policy{Mode: network.ModeAllowlist, Domains: domains}
	for _, c := range cidrs {
		p.CIDRs = append(p.CIDRs, netip.MustParsePrefix(c))
	}
	return p
}

// TestAllowlist: allowed names resolve and answer, other names get
// NXDOMAIN and their addresses are dropped, an allowed CIDR works and its
// neighbour does not, and the metadata address, the host, a private host
// and the upstream resolver itself are unreachable; counters move.
func TestAllowlist(t *testing.T) {
	e := newEnv(t, nil)
	a := e.attach("c1", allowlist([]string{"allowed.test", "*.wild.test"}, "203.0.113.10/32"))

	if string(a.ResolvConf) != "nameserver 10.88.0.1\n" || a.Gateway != netip.MustParseAddr("10.88.0.1") || !testSubnet.Contains(a.Addr) {
		t.Fatalf("attachment %+v", a)
	}
	mustNotReach(t, a, hostPort(nettest.AllowedHost)) // not resolved yet: not allowed
	for name, want := range map[string]netip.Addr{"allowed.test": nettest.AllowedHost, "api.wild.test": nettest.WildHost} {
		rcode, addrs, err := nettest.Lookup(a.NetnsPath, e.dns(), name, reachable)
		if err != nil || rcode != dns.RcodeSuccess || len(addrs) != 1 || addrs[0] != want {
			t.Fatalf("lookup %s: rcode %d addrs %v err %v", name, rcode, addrs, err)
		}
		mustReach(t, a, want)
	}
	for _, name := range []string{"denied.test", "wild.test", "allowed.test.evil.example"} {
		rcode, _, err := nettest.Lookup(a.NetnsPath, e.dns(), name, reachable)
		if err != nil || rcode != dns.RcodeNameError {
			t.Fatalf("lookup %s: rcode %d err %v, want NXDOMAIN", name, rcode, err)
		}
	}
	mustNotReach(t, a, hostPort(nettest.DeniedHost))
	// An allowed name that resolves to the metadata address still cannot
	// reach it: the always-denied ranges come before learned addresses.
	if err := e.m.Update(t.Context(), "c1", allowlist([]string{"allowed.test", "*.wild.test", "rebind.test"}, "203.0.113.10/32")); err != nil {
		t.Fatal(err)
	}
	if rcode, addrs, err := nettest.Lookup(a.NetnsPath, e.dns(), "rebind.test", reachable); err != nil || rcode != dns.RcodeSuccess || len(addrs) != 1 {
		t.Fatalf("lookup rebind.test: %d %v %v", rcode, addrs, err)
	}
	mustNotReach(t, a, hostPort(nettest.MetadataHost))
	mustReach(t, a, nettest.CIDRHost)
	mustNotReach(t, a, hostPort(nettest.NeighbourHost))
	hostSvc := hostService(t)
	for _, to := range []netip.AddrPort{
		hostPort(nettest.MetadataHost), hostPort(nettest.PrivateHost),
		netip.AddrPortFrom(nettest.UplinkDaemon, hostSvc), netip.AddrPortFrom(a.Gateway, hostSvc),
		netip.AddrPortFrom(nettest.DNSServer, 53),
	} {
		mustNotReach(t, a, to)
	}
	// The upstream resolver answers only through the manager's resolver.
	if _, _, err := nettest.Lookup(a.NetnsPath, netip.AddrPortFrom(nettest.DNSServer, 53), "denied.test", blocked); err == nil {
		t.Fatal("the container queried the upstream resolver directly")
	}
	c, err := e.m.Counters("c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.DroppedEgress == 0 || c.TxBytes == 0 || c.RxBytes == 0 {
		t.Fatalf("counters did not move: %+v", c)
	}
}

// TestModeAllAndNone: all reaches any public address but still not the
// always-denied ranges; none reaches nothing and resolves nothing.
func TestModeAllAndNone(t *testing.T) {
	e := newEnv(t, nil)
	all := e.attach("all", network.Policy{Mode: network.ModeAll})
	none := e.attach("none", network.Policy{Mode: network.ModeNone})
	mustReach(t, all, nettest.DeniedHost)
	mustReach(t, all, nettest.NeighbourHost)
	if rcode, addrs, err := nettest.Lookup(all.NetnsPath, e.dns(), "denied.test", reachable); err != nil || rcode != dns.RcodeSuccess || len(addrs) != 1 {
		t.Fatalf("mode all lookup: %d %v %v", rcode, addrs, err)
	}
	for _, h := range []netip.Addr{nettest.MetadataHost, nettest.PrivateHost} {
		mustNotReach(t, all, hostPort(h))
	}
	hostSvc := hostService(t)
	for _, h := range []netip.Addr{nettest.UplinkDaemon, all.Gateway} {
		mustNotReach(t, all, netip.AddrPortFrom(h, hostSvc))
	}
	for _, h := range []netip.Addr{nettest.DeniedHost, nettest.CIDRHost, all.Addr} {
		mustNotReach(t, none, hostPort(h))
	}
	if rcode, _, err := nettest.Lookup(none.NetnsPath, e.dns(), "allowed.test", reachable); err != nil || rcode != dns.RcodeNameError {
		t.Fatalf("mode none lookup: %d %v", rcode, err)
	}
}

// TestExemptAndPorts: an operator exemption opens an always-denied range
// to a policy that lists it, and Ports restricts destinations to them.
func TestExemptAndPorts(t *testing.T) {
	e := newEnv(t, func(c *network.Config) { c.Exempt = []netip.Prefix{netip.MustParsePrefix("10.99.0.0/24")} })
	a := e.attach("c1", allowlist(nil, "10.99.0.10/32", "203.0.113.0/24"))
	mustReach(t, a, nettest.PrivateHost)
	mustNotReach(t, a, hostPort(nettest.MetadataHost))
	b := e.attach("c2", network.Policy{Mode: network.ModeAllowlist, CIDRs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, Ports: []uint16{443}})
	mustNotReach(t, b, hostPort(nettest.CIDRHost))
	mustReach(t, a, nettest.CIDRHost)
}

// TestUpdateLive: a policy change applies to new connections of a running
// container without re-attaching it.
func TestUpdateLive(t *testing.T) {
	e := newEnv(t, nil)
	a := e.attach("c1", network.Policy{Mode: network.ModeNone})
	mustNotReach(t, a, hostPort(nettest.CIDRHost))
	if err := e.m.Update(context.Background(), "c1", allowlist([]string{"denied.test"}, "203.0.113.10/32")); err != nil {
		t.Fatal(err)
	}
	mustReach(t, a, nettest.CIDRHost)
	if _, addrs, err := nettest.Lookup(a.NetnsPath, e.dns(), "denied.test", reachable); err != nil || len(addrs) != 1 {
		t.Fatalf("lookup after update: %v %v", addrs, err)
	}
	mustReach(t, a, nettest.DeniedHost)
	before, _ := e.m.Counters("c1")
	if err := e.m.Update(context.Background(), "c1", network.Policy{Mode: network.ModeAllowlist}); err != nil {
		t.Fatal(err)
	}
	mustNotReach(t, a, hostPort(nettest.CIDRHost))
	mustNotReach(t, a, hostPort(nettest.DeniedHost)) // learned addresses go with the old policy
	after, _ := e.m.Counters("c1")
	if after.DroppedEgress <= before.DroppedEgress {
		t.Fatalf("dropped counter went from %d to %d across an update", before.DroppedEgress, after.DroppedEgress)
	}
	if err := e.m.Update(context.Background(), "nope", network.Policy{}); err == nil {
		t.Fatal("update of an unknown container succeeded")
	}
}

// hostService listens on every address of the host (the test's daemon
// namespace) and checks the host itself reaches it, so a container's
// failure to connect is the policy's doing, not a closed port.
func hostService(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for range 100 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	c, err := net.DialTimeout("tcp4", netip.AddrPortFrom(nettest.UplinkDaemon, port).String(), reachable)
	if err != nil {
		t.Fatalf("the host cannot reach its own service: %v", err)
	}
	c.Close()
	return port
}
