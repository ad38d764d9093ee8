package network

import (
	"fmt"
	"net/netip"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Mode is how much egress a container gets.
type Mode int

const (
	// ModeNone allows no egress at all (published ports still answer).
	ModeNone Mode = iota
	// ModeAll allows every destination outside Config.AlwaysDeny.
	ModeAll
	// ModeAllowlist allows the policy's CIDRs and the addresses its
	// Domains resolve to through the manager's resolver.
	ModeAllowlist
)

// String returns the mode's CLI name: none, all or allowlist.
func (m Mode) String() string {
	switch m {
	case ModeNone:
		return "none"
	case ModeAll:
		return "all"
	case ModeAllowlist:
		return "allowlist"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode parses a mode's CLI name.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{ModeNone, ModeAll, ModeAllowlist} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("egress mode %q is not none, all or allowlist: %w", s, errdefs.ErrInvalidArgument)
}

// Policy is a container's egress policy.
type Policy struct {
	Mode Mode
	// Domains are exact names ("pypi.org") or wildcards ("*.example.com",
	// matching every name below example.com but not example.com itself).
	Domains []string
	// CIDRs are IPv4 destinations allowed without DNS.
	CIDRs []netip.Prefix
	// Ports restricts allowed destinations to these TCP/UDP ports; empty
	// means any port.
	Ports []uint16
}

// Limits bounding a policy, so one caller cannot make the kernel's sets or
// the resolver's match list unbounded.
const (
	MaxDomains = 256
	MaxCIDRs   = 256
	MaxPorts   = 64
)

// Validate checks the policy's shape (not the operator's ceilings, which
// the daemon applies) and returns it normalised: domains lower-case without
// a trailing dot, prefixes masked. Errors wrap errdefs.ErrInvalidArgument.
func (p Policy) Validate() (Policy, error) {
	if p.Mode < ModeNone || p.Mode > ModeAllowlist {
		return p, fmt.Errorf("egress mode %d: %w", p.Mode, errdefs.ErrInvalidArgument)
	}
	if len(p.Domains) > MaxDomains || len(p.CIDRs) > MaxCIDRs || len(p.Ports) > MaxPorts {
		return p, fmt.Errorf("egress policy lists more than %d domains, %d CIDRs or %d ports: %w",
			MaxDomains, MaxCIDRs, MaxPorts, errdefs.ErrInvalidArgument)
	}
	out := Policy{Mode: p.Mode}
	for _, d := range p.Domains {
		n, err := normalizeDomain(d)
		if err != nil {
			return p, err
		}
		out.Domains = append(out.Domains, n)
	}
	for _, c := range p.CIDRs {
		if !c.IsValid() || !c.Addr().Is4() {
			return p, fmt.Errorf("egress CIDR %q is not an IPv4 prefix: %w", c, errdefs.ErrInvalidArgument)
		}
		out.CIDRs = append(out.CIDRs, c.Masked())
	}
	for _, port := range p.Ports {
		if port == 0 {
			return p, fmt.Errorf("egress port 0: %w", errdefs.ErrInvalidArgument)
		}
		out.Ports = append(out.Ports, port)
	}
	return out, nil
}

// normalizeDomain lower-cases a domain pattern and checks it is a DNS name
// or "*." followed by one.
func normalizeDomain(d string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	name := strings.TrimPrefix(n, "*.")
	if len(n) > 253 || name == "" || strings.Contains(name, "*") || !validName(name) {
		return "", fmt.Errorf("egress domain %q is not a name or *.name: %w", d, errdefs.ErrInvalidArgument)
	}
	return n, nil
}

func validName(name string) bool {
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// Allows reports whether name (any case, trailing dot or not) matches one
// of the policy's domains. ModeAll allows every name, ModeNone none.
func (p Policy) Allows(name string) bool {
	switch p.Mode {
	case ModeAll:
		return true
	case ModeNone:
		return false
	}
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	for _, d := range p.Domains {
		if suffix, ok := strings.CutPrefix(d, "*."); ok {
			if strings.HasSuffix(n, "."+suffix) {
				return true
			}
		} else if n == d {
			return true
		}
	}
	return false
}

// Port is a published port: connections to HostIP:HostPort on the host
// reach ContainerPort in the container.
type Port struct {
	HostIP        netip.Addr
	HostPort      uint16
	ContainerPort uint16
	// Proto is "tcp" (the only protocol supported so far).
	Proto string
}

// String formats the port as docker does: 127.0.0.1:8080->80/tcp.
func (p Port) String() string {
	return fmt.Sprintf("%s->%d/%s", netip.AddrPortFrom(p.HostIP, p.HostPort), p.ContainerPort, p.Proto)
}
