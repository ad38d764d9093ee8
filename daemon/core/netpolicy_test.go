package core

import (
	"errors"
	"testing"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/internal/errdefs"
)

func allowlist(domains, cidrs []string) *nucleusv1.EgressPolicy {
	return &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALLOWLIST, Domains: domains, Cidrs: cidrs}
}

// TestEgressRulesCeilings: a non-root caller can only narrow the
// operator's domains, CIDRs and modes; root may exceed them unless the
// operator forbids it; denied ranges are refused for everyone unless the
// operator's allowed_cidrs lists them.
func TestEgressRulesCeilings(t *testing.T) {
	n := config.Default().Network
	n.AllowedDomains = []string{"*.example.com", "pypi.org"}
	n.AllowedCIDRs = []string{"203.0.113.0/24", "10.1.0.0/16"}
	user, root := auth.Identity{UID: 1000}, auth.Identity{Admin: true}
	all := &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL}
	for _, tc := range []struct {
		name   string
		caller auth.Identity
		pol    *nucleusv1.EgressPolicy
		strict bool // root_exceeds_ceilings = false
		want   error
	}{
		{"user narrows", user, allowlist([]string{"a.example.com", "*.b.example.com", "PyPI.org."}, []string{"203.0.113.8/29"}), false, nil},
		{"unset is none", user, nil, false, nil},
		{"user other domain", user, allowlist([]string{"evil.com"}, nil), false, errdefs.ErrPermissionDenied},
		{"user apex of wildcard", user, allowlist([]string{"example.com"}, nil), false, errdefs.ErrPermissionDenied},
		{"user wider cidr", user, allowlist(nil, []string{"203.0.0.0/16"}), false, errdefs.ErrPermissionDenied},
		{"user mode all", user, all, false, errdefs.ErrPermissionDenied},
		{"root mode all", root, all, false, nil},
		{"root exceeds", root, allowlist([]string{"evil.com"}, []string{"198.51.100.0/24"}), false, nil},
		{"root strict", root, allowlist([]string{"evil.com"}, nil), true, errdefs.ErrPermissionDenied},
		{"metadata", root, allowlist(nil, []string{"169.254.169.254"}), false, errdefs.ErrPermissionDenied},
		{"private", root, allowlist(nil, []string{"192.168.1.0/24"}), false, errdefs.ErrPermissionDenied},
		{"loopback", root, allowlist(nil, []string{"127.0.0.1/32"}), false, errdefs.ErrPermissionDenied},
		{"listed private", user, allowlist(nil, []string{"10.1.2.0/24"}), false, nil},
		{"unlisted private", root, allowlist(nil, []string{"10.2.0.0/24"}), false, errdefs.ErrPermissionDenied},
		{"bad domain", root, allowlist([]string{"bad_domain!"}, nil), false, errdefs.ErrInvalidArgument},
		{"bad cidr", root, allowlist(nil, []string{"::1/128"}), false, errdefs.ErrInvalidArgument},
		{"domains without allowlist", root, &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL, Domains: []string{"pypi.org"}}, false, errdefs.ErrInvalidArgument},
		{"port 0", root, &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL, Ports: []uint32{0}}, false, errdefs.ErrInvalidArgument},
		{"port too big", root, &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL, Ports: []uint32{70000}}, false, errdefs.ErrInvalidArgument},
		{"unknown mode", root, &nucleusv1.EgressPolicy{Mode: 9}, false, errdefs.ErrInvalidArgument},
		{"too many", root, allowlist(make([]string, maxPolicyEntries+1), nil), false, errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := n
			cfg.RootExceedsCeilings = !tc.strict
			_, err := egressRules(&cfg, tc.caller, tc.pol)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("egressRules = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestPortMappings: ports only on the operator's addresses, tcp, no
// duplicates; the defaults are filled in.
func TestPortMappings(t *testing.T) {
	n := config.Default().Network
	pp := &nucleusv1.PublishedPort{HostPort: 8080, ContainerPort: 80}
	got, err := portMappings(&n, []*nucleusv1.PublishedPort{pp})
	if err != nil || len(got) != 1 || got[0].HostIP.String() != "127.0.0.1" || pp.HostIp != "127.0.0.1" || pp.Protocol != "tcp" {
		t.Fatalf("portMappings = %+v, %v; port %+v", got, err, pp)
	}
	for _, tc := range []struct {
		ports []*nucleusv1.PublishedPort
		want  error
	}{
		{[]*nucleusv1.PublishedPort{{HostIp: "0.0.0.0", HostPort: 80, ContainerPort: 80}}, errdefs.ErrPermissionDenied},
		{[]*nucleusv1.PublishedPort{{HostIp: "192.0.2.1", HostPort: 80, ContainerPort: 80}}, errdefs.ErrPermissionDenied},
		{[]*nucleusv1.PublishedPort{{HostPort: 80, ContainerPort: 80, Protocol: "udp"}}, errdefs.ErrInvalidArgument},
		{[]*nucleusv1.PublishedPort{{HostPort: 0, ContainerPort: 80}}, errdefs.ErrInvalidArgument},
		{[]*nucleusv1.PublishedPort{{HostPort: 80, ContainerPort: 70000}}, errdefs.ErrInvalidArgument},
		{[]*nucleusv1.PublishedPort{{HostPort: 80, ContainerPort: 1}, {HostPort: 80, ContainerPort: 2}}, errdefs.ErrInvalidArgument},
	} {
		if _, err := portMappings(&n, tc.ports); !errors.Is(err, tc.want) {
			t.Errorf("portMappings(%v) = %v, want %v", tc.ports, err, tc.want)
		}
	}
}
