package core

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/internal/errdefs"
)

// maxPolicyEntries bounds each list of an egress policy (domains, CIDRs,
// ports, published ports): the resolver and nftables sets stay small.
const maxPolicyEntries = 64

// EgressRules is a validated egress policy, as the NetworkAttacher applies
// it: domains lowercased, CIDRs masked.
type EgressRules struct {
	Mode    string // config.EgressNone, EgressAll or EgressAllowlist
	Domains []string
	CIDRs   []netip.Prefix
	Ports   []uint16
}

// PortMapping is one validated published port.
type PortMapping struct {
	HostIP        netip.Addr
	HostPort      uint16
	ContainerPort uint16
	Protocol      string // "tcp"
}

// egressRules checks pol against the operator's [network] ceilings for
// caller: the mode must be one callers may use, each domain must fall
// under allowed_domains and each CIDR inside allowed_cidrs (root beyond
// them only with root_exceeds_ceilings); a CIDR inside denied_cidrs is
// refused for everyone (it could never be reached).
func egressRules(n *config.NetworkConfig, caller auth.Identity, pol *nucleusv1.EgressPolicy) (EgressRules, error) {
	var r EgressRules
	switch pol.GetMode() {
	case nucleusv1.EgressMode_EGRESS_MODE_UNSPECIFIED, nucleusv1.EgressMode_EGRESS_MODE_NONE:
		r.Mode = config.EgressNone
	case nucleusv1.EgressMode_EGRESS_MODE_ALL:
		r.Mode = config.EgressAll
	case nucleusv1.EgressMode_EGRESS_MODE_ALLOWLIST:
		r.Mode = config.EgressAllowlist
	default:
		return r, errdefs.InvalidArgument("egress.mode %d is unknown: use none, all or allowlist", pol.GetMode())
	}
	if !caller.Admin && !slices.Contains(n.UserModes, r.Mode) {
		return r, errdefs.PermissionDenied("egress mode %q is not allowed for non-root callers on this host (network.user_modes = %v)", r.Mode, n.UserModes)
	}
	if r.Mode != config.EgressAllowlist && (len(pol.GetDomains()) > 0 || len(pol.GetCidrs()) > 0) {
		return r, errdefs.InvalidArgument("egress domains and cidrs need egress mode allowlist (mode is %s)", r.Mode)
	}
	for key, n := range map[string]int{"domains": len(pol.GetDomains()), "cidrs": len(pol.GetCidrs()), "ports": len(pol.GetPorts())} {
		if n > maxPolicyEntries {
			return r, errdefs.InvalidArgument("egress.%s has %d entries; at most %d", key, n, maxPolicyEntries)
		}
	}
	exceed := caller.Admin && n.RootExceedsCeilings
	for _, d := range pol.GetDomains() {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if err := config.ValidateDomain(d); err != nil {
			return r, errdefs.InvalidArgument("egress.domains: %v", err)
		}
		if !exceed && !slices.ContainsFunc(n.AllowedDomains, func(c string) bool { return domainWithin(d, c) }) {
			return r, errdefs.PermissionDenied("egress domain %q is outside what the operator allows (network.allowed_domains = %v)", d, n.AllowedDomains)
		}
		if !slices.Contains(r.Domains, d) {
			r.Domains = append(r.Domains, d)
		}
	}
	denied, exempt := n.Denied(), n.Exempt()
	for _, c := range pol.GetCidrs() {
		p, err := config.ParseCIDR(c)
		if err != nil {
			return r, errdefs.InvalidArgument("egress.cidrs: %v", err)
		}
		if i := slices.IndexFunc(denied, func(d netip.Prefix) bool { return d.Overlaps(p) }); i >= 0 && !within(exempt, p) {
			return r, errdefs.PermissionDenied("egress cidr %s overlaps %s, which the operator always denies (network.denied_cidrs)", p, denied[i])
		}
		if !exceed && !cidrAllowed(n.AllowedCIDRs, p) {
			return r, errdefs.PermissionDenied("egress cidr %s is outside what the operator allows (network.allowed_cidrs = %v)", p, n.AllowedCIDRs)
		}
		r.CIDRs = append(r.CIDRs, p)
	}
	for _, port := range pol.GetPorts() {
		if port == 0 || port > 65535 {
			return r, errdefs.InvalidArgument("egress.ports: %d is not a port (1-65535)", port)
		}
		r.Ports = append(r.Ports, uint16(port))
	}
	return r, nil
}

// domainWithin reports whether d (a name or "*.name") falls under the
// ceiling c: "*" takes all; "*.x" takes x's subdomains; a name only itself.
func domainWithin(d, c string) bool {
	c = strings.ToLower(strings.TrimSuffix(c, "."))
	switch {
	case c == "*":
		return true
	case strings.HasPrefix(c, "*."):
		base := strings.TrimPrefix(d, "*.")
		return strings.HasSuffix(base, c[1:])
	default:
		return d == c
	}
}

func cidrAllowed(ceilings []string, p netip.Prefix) bool {
	var parsed []netip.Prefix
	for _, c := range ceilings {
		if cp, err := config.ParseCIDR(c); err == nil {
			parsed = append(parsed, cp)
		}
	}
	return within(parsed, p)
}

// within reports whether p lies inside one of outer.
func within(outer []netip.Prefix, p netip.Prefix) bool {
	return slices.ContainsFunc(outer, func(o netip.Prefix) bool { return o.Bits() <= p.Bits() && o.Contains(p.Addr()) })
}

// portMappings checks published ports: well-formed, tcp, on an address of
// network.publish_addresses, no host port twice. The defaults (127.0.0.1,
// tcp) are filled into ports.
func portMappings(n *config.NetworkConfig, ports []*nucleusv1.PublishedPort) ([]PortMapping, error) {
	if len(ports) > maxPolicyEntries {
		return nil, errdefs.InvalidArgument("published_ports has %d entries; at most %d", len(ports), maxPolicyEntries)
	}
	var out []PortMapping
	for _, pp := range ports {
		if pp.HostIp == "" {
			pp.HostIp = "127.0.0.1"
		}
		if pp.Protocol == "" {
			pp.Protocol = "tcp"
		}
		ip, err := netip.ParseAddr(pp.HostIp)
		switch {
		case err != nil || !ip.Is4():
			return nil, errdefs.InvalidArgument("published port: host address %q is not an IPv4 address", pp.HostIp)
		case pp.Protocol != "tcp":
			return nil, errdefs.InvalidArgument("published port: protocol %q is not supported (tcp only)", pp.Protocol)
		case pp.HostPort == 0 || pp.HostPort > 65535 || pp.ContainerPort == 0 || pp.ContainerPort > 65535:
			return nil, errdefs.InvalidArgument("published port %d:%d: ports are 1-65535", pp.HostPort, pp.ContainerPort)
		case !slices.Contains(n.PublishAddresses, ip.String()):
			return nil, errdefs.PermissionDenied("ports may not be published on %s (network.publish_addresses = %v)", ip, n.PublishAddresses)
		}
		m := PortMapping{HostIP: ip, HostPort: uint16(pp.HostPort), ContainerPort: uint16(pp.ContainerPort), Protocol: pp.Protocol}
		if slices.ContainsFunc(out, func(o PortMapping) bool { return o.HostPort == m.HostPort && o.HostIP == m.HostIP }) {
			return nil, errdefs.InvalidArgument("published port %s:%d is given twice", ip, m.HostPort)
		}
		out = append(out, m)
	}
	return out, nil
}

// String is the policy as one log field.
func (r EgressRules) String() string {
	return fmt.Sprintf("mode=%s domains=%v cidrs=%v ports=%v", r.Mode, r.Domains, r.CIDRs, r.Ports)
}
