package network

import (
	"fmt"
	"net/netip"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Config is the operator's network setup. Zero fields take the defaults
// documented on each field (see WithDefaults).
type Config struct {
	// BridgeName is the host bridge (default "nucleus0").
	BridgeName string
	// Subnet holds the bridge's gateway (its first host address) and the
	// containers' addresses (default 10.88.0.0/16). IPv4 only.
	Subnet netip.Prefix
	// Upstream are the resolvers the DNS allowlist forwards to (required
	// for domains to resolve; none means every query gets SERVFAIL).
	Upstream []netip.AddrPort
	// AlwaysDeny are destinations dropped whatever a policy says (default
	// DefaultAlwaysDeny(Subnet)); the host's own addresses are added at New.
	AlwaysDeny []netip.Prefix
	// Exempt are destinations the operator explicitly allows although they
	// fall inside AlwaysDeny (e.g. a private package mirror); a policy must
	// still allow them.
	Exempt []netip.Prefix
	// AllowContainerToContainer lets containers on the bridge reach each
	// other (default false: the bridge drops frames between ports and the
	// subnet is in AlwaysDeny).
	AllowContainerToContainer bool
	// PublishAddrs are the host addresses published ports may listen on
	// (default 127.0.0.1).
	PublishAddrs []netip.Addr
	// MaxTTL caps how long a DNS answer keeps its addresses allowed and the
	// TTL the container sees (default 5 minutes); MinTTL is the least
	// (default 30 seconds), so a zero-TTL answer is still usable.
	MaxTTL, MinTTL time.Duration
	// MaxAddrsPerContainer bounds each container's DNS-learned set
	// (default 4096); answers beyond it get SERVFAIL.
	MaxAddrsPerContainer int
	// NetnsDir holds the containers' named namespaces (default
	// /run/nucleus/network/netns; not the sandbox package's own
	// StateDir/netns, which holds loopback-only namespaces).
	NetnsDir string
	// Table names the nftables tables (inet and bridge; default "nucleus").
	Table string
	// DNSPort is the resolver's port on the gateway (default 53; tests may
	// change it, containers always get port 53 in resolv.conf then).
	DNSPort uint16
}

// DefaultAlwaysDeny returns the ranges no policy can reach: the metadata
// address and link-local, loopback, the bridge subnet, the private ranges
// and IPv6 unique-local and link-local.
func DefaultAlwaysDeny(subnet netip.Prefix) []netip.Prefix {
	out := []netip.Prefix{subnet.Masked()}
	for _, s := range []string{
		"169.254.169.254/32", "169.254.0.0/16", "127.0.0.0/8", "0.0.0.0/8",
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"224.0.0.0/4", "240.0.0.0/4", "fc00::/7", "fe80::/10",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// WithDefaults returns cfg with every zero field set to its default.
func (cfg Config) WithDefaults() Config {
	if cfg.BridgeName == "" {
		cfg.BridgeName = "nucleus0"
	}
	if !cfg.Subnet.IsValid() {
		cfg.Subnet = netip.MustParsePrefix("10.88.0.0/16")
	}
	cfg.Subnet = cfg.Subnet.Masked()
	if cfg.AlwaysDeny == nil {
		cfg.AlwaysDeny = DefaultAlwaysDeny(cfg.Subnet)
	}
	if cfg.PublishAddrs == nil {
		cfg.PublishAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = 5 * time.Minute
	}
	if cfg.MinTTL == 0 {
		cfg.MinTTL = 30 * time.Second
	}
	if cfg.MaxAddrsPerContainer == 0 {
		cfg.MaxAddrsPerContainer = 4096
	}
	if cfg.NetnsDir == "" {
		cfg.NetnsDir = "/run/nucleus/network/netns"
	}
	if cfg.Table == "" {
		cfg.Table = "nucleus"
	}
	if cfg.DNSPort == 0 {
		cfg.DNSPort = 53
	}
	return cfg
}

// Validate checks a defaulted config.
func (cfg Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("network config: "+format+": %w", append(a, errdefs.ErrInvalidArgument)...)
	}
	switch {
	case len(cfg.BridgeName) > 15 || cfg.BridgeName == "":
		return bad("bridge name %q must be 1-15 characters", cfg.BridgeName)
	case isVethName(cfg.BridgeName):
		return bad("bridge name %q looks like a container veth", cfg.BridgeName)
	case !cfg.Subnet.Addr().Is4() || cfg.Subnet.Bits() > 28 || cfg.Subnet.Bits() < 8:
		return bad("subnet %s must be an IPv4 prefix from /8 to /28", cfg.Subnet)
	case cfg.MinTTL <= 0 || cfg.MaxTTL < cfg.MinTTL:
		return bad("DNS TTL bounds %s..%s", cfg.MinTTL, cfg.MaxTTL)
	case cfg.MaxAddrsPerContainer < 1:
		return bad("max addresses per container %d", cfg.MaxAddrsPerContainer)
	}
	for _, u := range cfg.Upstream {
		if !u.IsValid() {
			return bad("upstream resolver %s", u)
		}
	}
	return nil
}

// Gateway is the bridge's address: the subnet's first host address.
func (cfg Config) Gateway() netip.Addr { return cfg.Subnet.Masked().Addr().Next() }
