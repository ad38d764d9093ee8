package network_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"nucleus.dev/nucleus/network"
	"nucleus.dev/nucleus/network/nettest"
)

// TestDNSTTLBoundsAndExpiry: the container is told the clamped TTL, and a
// learned address stops being allowed once it (plus the slack) runs out.
func TestDNSTTLBoundsAndExpiry(t *testing.T) {
	e := newEnv(t, func(c *network.Config) { c.MinTTL, c.MaxTTL = time.Second, 2*time.Second })
	a := e.attach("c1", allowlist([]string{"allowed.test"}))
	resp, err := nettest.Exchange(a.NetnsPath, e.dns(), "allowed.test", dns.TypeA, reachable)
	if err != nil || len(resp.Answer) != 1 || resp.Answer[0].Header().Ttl != 2 {
		t.Fatalf("answer %v err %v, want one A with TTL 2 (zone says 60)", resp, err)
	}
	mustReach(t, a, nettest.AllowedHost)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := nettest.Dial(a.NetnsPath, hostPort(nettest.AllowedHost), 300*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the learned address was still allowed 15 s after a 2 s TTL")
		}
		time.Sleep(500 * time.Millisecond)
	}
	if resp, err := nettest.Exchange(a.NetnsPath, e.dns(), "allowed.test", dns.TypeAAAA, reachable); err != nil ||
		resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 0 {
		t.Fatalf("AAAA: %v %v, want an empty answer", resp, err)
	}
}

// TestDNSRefusalsAndLimits: queries from outside any container are
// refused, and a container's learned set is bounded.
func TestDNSRefusalsAndLimits(t *testing.T) {
	e := newEnv(t, func(c *network.Config) { c.MaxAddrsPerContainer = 1 })
	a := e.attach("c1", allowlist([]string{"allowed.test", "*.wild.test"}))
	if resp, err := nettest.Exchange("", e.dns(), "allowed.test", dns.TypeA, reachable); err != nil || resp.Rcode != dns.RcodeRefused {
		t.Fatalf("query from the host: %v %v, want REFUSED", resp, err)
	}
	resp, err := nettest.ExchangeOver(a.NetnsPath, "tcp", e.dns(), "allowed.test", dns.TypeA, reachable)
	if err != nil || resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
		t.Fatalf("first name, over TCP: %v %v", resp, err)
	}
	if rcode, _, err := nettest.Lookup(a.NetnsPath, e.dns(), "api.wild.test", reachable); err != nil || rcode != dns.RcodeServerFailure {
		t.Fatalf("over the limit: %d %v, want SERVFAIL", rcode, err)
	}
	mustNotReach(t, a, netip.AddrPortFrom(nettest.WildHost, nettest.HTTPPort))
	mustReach(t, a, nettest.AllowedHost)
}
