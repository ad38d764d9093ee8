package network_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/network"
)

func TestPolicyAllows(t *testing.T) {
	p, err := network.Policy{Mode: network.ModeAllowlist, Domains: []string{"PyPI.org.", "*.pythonhosted.org"}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"pypi.org": true, "PYPI.ORG.": true, "files.pythonhosted.org.": true, "a.b.pythonhosted.org": true,
		"pythonhosted.org": false, "evilpythonhosted.org": false, "pypi.org.evil.com": false, "www.pypi.org": false,
	} {
		if got := p.Allows(name); got != want {
			t.Errorf("Allows(%q) = %v, want %v", name, got, want)
		}
	}
	if (network.Policy{Mode: network.ModeNone, Domains: []string{"pypi.org"}}).Allows("pypi.org") {
		t.Error("mode none allowed a name")
	}
	if !(network.Policy{Mode: network.ModeAll}).Allows("anything.example") {
		t.Error("mode all refused a name")
	}
}

func TestPolicyValidateRejects(t *testing.T) {
	many := make([]string, network.MaxDomains+1)
	for i := range many {
		many[i] = "a.example"
	}
	for name, p := range map[string]network.Policy{
		"mode":         {Mode: 7},
		"star inside":  {Mode: network.ModeAllowlist, Domains: []string{"a.*.example"}},
		"bare star":    {Mode: network.ModeAllowlist, Domains: []string{"*"}},
		"space":        {Mode: network.ModeAllowlist, Domains: []string{"a b.example"}},
		"long label":   {Mode: network.ModeAllowlist, Domains: []string{strings.Repeat("a", 64) + ".example"}},
		"ipv6 cidr":    {Mode: network.ModeAllowlist, CIDRs: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}},
		"port 0":       {Mode: network.ModeAllowlist, Ports: []uint16{0}},
		"many domains": {Mode: network.ModeAllowlist, Domains: many},
	} {
		if _, err := p.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v, want invalid argument", name, err)
		}
	}
	p, err := network.Policy{Mode: network.ModeAllowlist, CIDRs: []netip.Prefix{netip.MustParsePrefix("203.0.113.7/24")}}.Validate()
	if err != nil || p.CIDRs[0] != netip.MustParsePrefix("203.0.113.0/24") {
		t.Errorf("masking: %v %v", p.CIDRs, err)
	}
}

func TestParsePort(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for in, want := range map[string]network.Port{
		"8080:80":               {HostIP: lo, HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		"127.0.0.2:8080:80/tcp": {HostIP: netip.MustParseAddr("127.0.0.2"), HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		"[::1]:8080:80":         {HostIP: netip.MustParseAddr("::1"), HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
	} {
		got, err := network.ParsePort(in, lo)
		if err != nil || got != want {
			t.Errorf("ParsePort(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"80", "0:80", "8080:0", "8080:80/udp", "x:8080:80", "65536:80", ":80", "8080:80/"} {
		if _, err := network.ParsePort(in, lo); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParsePort(%q) = %v, want invalid argument", in, err)
		}
	}
	if got := (network.Port{HostIP: lo, HostPort: 8080, ContainerPort: 80, Proto: "tcp"}).String(); got != "127.0.0.1:8080->80/tcp" {
		t.Errorf("String = %q", got)
	}
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	cfg := network.Config{}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Gateway() != netip.MustParseAddr("10.88.0.1") || cfg.PublishAddrs[0] != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("defaults: %+v", cfg)
	}
	deny := map[string]bool{}
	for _, p := range cfg.AlwaysDeny {
		deny[p.String()] = true
	}
	for _, want := range []string{"169.254.169.254/32", "169.254.0.0/16", "127.0.0.0/8", "10.88.0.0/16", "10.0.0.0/8",
		"172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"} {
		if !deny[want] {
			t.Errorf("default AlwaysDeny lacks %s", want)
		}
	}
	for name, edit := range map[string]func(*network.Config){
		"long bridge": func(c *network.Config) { c.BridgeName = "a-very-long-bridge" },
		"veth bridge": func(c *network.Config) { c.BridgeName = "nuc0123456789" },
		"ipv6 subnet": func(c *network.Config) { c.Subnet = netip.MustParsePrefix("fd00::/64") },
		"tiny subnet": func(c *network.Config) { c.Subnet = netip.MustParsePrefix("10.1.2.0/30") },
		"ttl":         func(c *network.Config) { c.MinTTL, c.MaxTTL = 10, 5 },
	} {
		c := network.Config{}.WithDefaults()
		edit(&c)
		if err := c.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}

func TestMemLeases(t *testing.T) {
	l := network.NewMemLeases()
	a := netip.MustParseAddr("10.88.0.2")
	if err := l.Put(network.Lease{ID: "b", Addr: a}); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(network.Lease{ID: "", Addr: a}); err == nil {
		t.Fatal("empty id accepted")
	}
	_ = l.Put(network.Lease{ID: "a", Addr: a.Next()})
	ls, _ := l.List()
	if len(ls) != 2 || ls[0].ID != "a" {
		t.Fatalf("List = %v", ls)
	}
	_ = l.Delete("a")
	_ = l.Delete("missing")
	if ls, _ := l.List(); len(ls) != 1 {
		t.Fatalf("after delete: %v", ls)
	}
}
