package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
)

// NetworkConfig is the [network] section: the bridge of the "egress"
// network mode and the operator's ceilings on what callers may allow.
type NetworkConfig struct {
	Enabled              bool     `toml:"enabled" doc:"Run the egress network: a bridge, NAT to the host's uplink, per-container nftables policy and a DNS allowlist resolver. Off: containers asking for network \"egress\" are refused (FAILED_PRECONDITION) and nucleusd never touches the host's network."`
	Subnet               string   `toml:"subnet" doc:"IPv4 subnet of the bridge; the first address is the bridge (and the containers' resolver), the rest are leased to containers."`
	Bridge               string   `toml:"bridge" doc:"Name of the host bridge nucleusd creates and owns."`
	UpstreamResolvers    []string `toml:"upstream_resolvers" doc:"Resolvers (ip or ip:port) the containers' resolver forwards allowed names to; empty: the nameservers of nucleusd's /etc/resolv.conf."`
	UserModes            []string `toml:"user_modes" doc:"Egress modes (none, allowlist, all) a non-root caller may ask for; root may use every mode."`
	AllowedDomains       []string `toml:"allowed_domains" doc:"Domains callers may allow (\"pypi.org\", \"*.pythonhosted.org\"; \"*\" is every domain). A non-root caller's domains must each fall under one of these."`
	AllowedCIDRs         []string `toml:"allowed_cidrs" doc:"Address ranges callers may allow; a non-root caller's CIDRs must each lie inside one of these. A private range listed here is no longer always denied."`
	RootExceedsCeilings  bool     `toml:"root_exceeds_ceilings" doc:"Root may allow domains and CIDRs beyond allowed_domains and allowed_cidrs (never denied_cidrs)."`
	DeniedCIDRs          []string `toml:"denied_cidrs" doc:"Ranges no container ever reaches, whatever its policy (the host's own addresses and the bridge subnet are always added). Private ranges are skipped where allowed_cidrs lists them."`
	ContainerToContainer bool     `toml:"container_to_container" doc:"Let containers on the bridge reach each other (only where their policies allow the address)."`
	PublishAddresses     []string `toml:"publish_addresses" doc:"Host addresses ports may be published on."`
	MaxDNSTTL            Duration `toml:"max_dns_ttl" doc:"Longest time an address a resolved name gave stays in a container's allowed set."`
	// JoinableNamespaceDirs is independent of Enabled: joining a namespace
	// someone else made uses no bridge.
	JoinableNamespaceDirs []string `toml:"joinable_namespace_dirs" doc:"Directories whose pinned network namespaces root (and the containerd shim, which runs as root) may join with network_namespace (nucleusctl --network ns:PATH): Kubernetes pods' namespaces, made by CNI under /var/run/netns. Empty: joining is refused (FAILED_PRECONDITION)."`
}

// The egress modes of a container on the "egress" network.
const (
	EgressNone      = "none"
	EgressAll       = "all"
	EgressAllowlist = "allowlist"
)

// DefaultDeniedCIDRs are the ranges no container reaches by default: this
// network, loopback, link-local (with the metadata address
// 169.254.169.254), the private and shared ranges, multicast and reserved.
var defaultDeniedCIDRs = []string{
	"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12",
	"192.168.0.0/16", "100.64.0.0/10", "224.0.0.0/4", "240.0.0.0/4",
}

// privateCIDRs are the denied ranges an operator's allowed_cidrs can lift.
var privateCIDRs = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}

func defaultNetwork() NetworkConfig {
	return NetworkConfig{
		Subnet:                "10.213.0.0/16",
		Bridge:                "nucleus0",
		UpstreamResolvers:     []string{},
		AllowedCIDRs:          []string{},
		UserModes:             []string{EgressNone, EgressAllowlist},
		AllowedDomains:        []string{"*"},
		RootExceedsCeilings:   true,
		DeniedCIDRs:           slices.Clone(defaultDeniedCIDRs),
		PublishAddresses:      []string{"127.0.0.1"},
		MaxDNSTTL:             Duration(5 * 60e9),
		JoinableNamespaceDirs: []string{"/var/run/netns", "/run/netns"},
	}
}

// SubnetPrefix is the parsed subnet (valid after Validate).
func (n *NetworkConfig) SubnetPrefix() netip.Prefix {
	p, _ := netip.ParsePrefix(n.Subnet)
	return p.Masked()
}

// Denied is denied_cidrs, parsed (valid after Validate).
func (n *NetworkConfig) Denied() []netip.Prefix { return parseAll(n.DeniedCIDRs) }

// Exempt are the allowed_cidrs that lie inside a private range: an
// operator who lists 10.1.0.0/16 lets policies reach it although
// denied_cidrs holds 10.0.0.0/8.
func (n *NetworkConfig) Exempt() []netip.Prefix {
	private := parseAll(privateCIDRs)
	var out []netip.Prefix
	for _, a := range parseAll(n.AllowedCIDRs) {
		if slices.ContainsFunc(private, func(p netip.Prefix) bool { return p.Bits() <= a.Bits() && p.Contains(a.Addr()) }) {
			out = append(out, a)
		}
	}
	return out
}

func parseAll(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		if p, err := ParseCIDR(c); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ParseCIDR parses an IPv4 CIDR or a bare IPv4 address (a /32).
func ParseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 address or CIDR", s)
		}
		return netip.PrefixFrom(a, 32), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 CIDR", s)
	}
	return p.Masked(), nil
}

func (n *NetworkConfig) validate(p *problems) {
	for i, d := range n.JoinableNamespaceDirs {
		if !filepath.IsAbs(d) || filepath.Clean(d) != d || d == "/" {
			p.add(fmt.Sprintf("network.joinable_namespace_dirs[%d]", i), "%q is not a clean absolute directory other than /", d)
		}
	}
	sub, err := netip.ParsePrefix(n.Subnet)
	if err != nil || !sub.Addr().Is4() || sub.Bits() > 28 || sub.Bits() < 8 {
		p.add("network.subnet", "%q is not an IPv4 subnet between /8 and /28", n.Subnet)
	}
	if n.Bridge == "" || len(n.Bridge) > 15 || strings.ContainsAny(n.Bridge, "/ \t\n:") {
		p.add("network.bridge", "%q is not an interface name (1-15 characters, no '/', ':' or spaces)", n.Bridge)
	}
	for i, r := range n.UpstreamResolvers {
		if _, err := netip.ParseAddr(r); err != nil {
			if _, err := netip.ParseAddrPort(r); err != nil {
				p.add(fmt.Sprintf("network.upstream_resolvers[%d]", i), "%q is not an ip or ip:port", r)
			}
		}
	}
	for i, m := range n.UserModes {
		if !slices.Contains([]string{EgressNone, EgressAllowlist, EgressAll}, m) {
			p.add(fmt.Sprintf("network.user_modes[%d]", i), "%q is not one of none, allowlist, all", m)
		}
	}
	for i, d := range n.AllowedDomains {
		if d != "*" {
			if err := ValidateDomain(d); err != nil {
				p.add(fmt.Sprintf("network.allowed_domains[%d]", i), "%v", err)
			}
		}
	}
	for key, list := range map[string][]string{"network.allowed_cidrs": n.AllowedCIDRs, "network.denied_cidrs": n.DeniedCIDRs} {
		for i, c := range list {
			if _, err := ParseCIDR(c); err != nil {
				p.add(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			}
		}
	}
	for i, a := range n.PublishAddresses {
		if ip, err := netip.ParseAddr(a); err != nil || !ip.Is4() {
			p.add(fmt.Sprintf("network.publish_addresses[%d]", i), "%q is not an IPv4 address", a)
		}
	}
	if n.MaxDNSTTL.Std() <= 0 {
		p.add("network.max_dns_ttl", "must be positive")
	}
}

// ValidateDomain checks a domain or a wildcard "*.example.com": labels of
// letters, digits and hyphens, at most 253 characters, at least two labels.
func ValidateDomain(d string) error {
	name := strings.TrimPrefix(d, "*.")
	if len(name) == 0 || len(name) > 253 || strings.Count(name, ".") < 1 {
		return fmt.Errorf("%q is not a domain (\"example.com\" or \"*.example.com\")", d)
	}
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%q is not a domain: label %q", d, l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q is not a domain: %q in label %q", d, r, l)
			}
		}
	}
	return nil
}
