package e2e

import (
	"strings"
	"testing"

	"nucleus.dev/nucleus/network/nettest"
)

// TestE2ENetworkEgressAllowlist: through the real daemon and runsc, an
// allowed domain resolves and its HTTP server answers, a wildcard's
// subdomain too; a not-allowed domain gets NXDOMAIN and its address,
// tried directly, is dropped; an allowed CIDR works and its neighbour
// does not; the metadata address, a private-range host, the daemon's own
// addresses are unreachable; the container's resolv.conf names only the
// daemon's resolver.
func TestE2ENetworkEgressAllowlist(t *testing.T) {
	e := newNetEnv(t, "")
	ctr := e.run(t, egressSpec("allow", allowlistPolicy([]string{"allowed.test", "*.wild.test"}, []string{nettest.CIDRHost.String()})))
	id := ctr.GetId()
	if ctr.GetIpAddress() == "" || !strings.HasPrefix(ctr.GetIpAddress(), "10.213.0.") {
		t.Errorf("container address = %q, want one in %s", ctr.GetIpAddress(), netSubnet)
	}
	if out, _ := e.sh(t, id, "cat /etc/resolv.conf"); !strings.Contains(out, "nameserver "+netGateway) || strings.Count(out, "nameserver") != 1 {
		t.Errorf("resolv.conf = %q, want only nameserver %s", out, netGateway)
	}
	e.wantGet(t, id, "allowed.test", "host "+nettest.AllowedHost.String())
	e.wantGet(t, id, "api.wild.test", "host "+nettest.WildHost.String())
	if out, code := e.sh(t, id, "busybox nslookup denied.test "+netGateway); code == 0 || strings.Contains(out, nettest.DeniedHost.String()) {
		t.Errorf("nslookup denied.test: exit %d %q; want a failure (NXDOMAIN) without its address", code, out)
	}
	e.wantNoGet(t, id, nettest.DeniedHost.String())
	e.wantGet(t, id, nettest.CIDRHost.String(), "host "+nettest.CIDRHost.String())
	e.wantNoGet(t, id, nettest.NeighbourHost.String())
	e.wantNoGet(t, id, nettest.MetadataHost.String())
	e.wantNoGet(t, id, nettest.PrivateHost.String())
	e.wantNoGet(t, id, nettest.UplinkInternet.String())
}
