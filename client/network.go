package client

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// UpdateNetwork replaces the egress policy of a running container on the
// "egress" network (NetworkService.UpdateNetwork).
func (c *Client) UpdateNetwork(ctx context.Context, id string, pol *nucleusv1.EgressPolicy) (*nucleusv1.Container, error) {
	resp, err := nucleusv1.NewNetworkServiceClient(c.conn).UpdateNetwork(ctx, &nucleusv1.UpdateNetworkRequest{Id: id, Egress: pol})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// EgressFlags are the docker-like egress flags: --egress MODE,
// --allow-domain a,b, --allow-cidr c, --allow-port p (each repeatable and
// comma-separated).
type EgressFlags struct {
	Mode    string
	Domains []string
	CIDRs   []string
	Ports   []string
}

// Set reports whether any egress flag was given.
func (f EgressFlags) Set() bool {
	return f.Mode != "" || len(f.Domains)+len(f.CIDRs)+len(f.Ports) > 0
}

// Policy builds the EgressPolicy: the mode is allowlist when domains or
// CIDRs are given without one. The daemon checks the operator's ceilings.
func (f EgressFlags) Policy() (*nucleusv1.EgressPolicy, error) {
	pol := &nucleusv1.EgressPolicy{Domains: splitList(f.Domains), Cidrs: splitList(f.CIDRs)}
	mode := f.Mode
	if mode == "" && len(pol.Domains)+len(pol.Cidrs) > 0 {
		mode = "allowlist"
	}
	switch mode {
	case "", "none":
		pol.Mode = nucleusv1.EgressMode_EGRESS_MODE_NONE
	case "all":
		pol.Mode = nucleusv1.EgressMode_EGRESS_MODE_ALL
	case "allowlist":
		pol.Mode = nucleusv1.EgressMode_EGRESS_MODE_ALLOWLIST
	default:
		return nil, errdefs.InvalidArgument("--egress %q: want none, all or allowlist", f.Mode)
	}
	for _, c := range pol.Cidrs {
		if _, err := netip.ParsePrefix(c); err != nil {
			if _, err := netip.ParseAddr(c); err != nil {
				return nil, errdefs.InvalidArgument("--allow-cidr %q is not an address or CIDR", c)
			}
		}
	}
	for _, p := range splitList(f.Ports) {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, errdefs.InvalidArgument("--allow-port %q is not a port (1-65535)", p)
		}
		pol.Ports = append(pol.Ports, uint32(n))
	}
	return pol, nil
}

// splitList splits each value at commas and drops empty entries.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// ParsePublish reads docker's -p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp].
// An empty host address is the daemon's default (127.0.0.1).
func ParsePublish(s string) (*nucleusv1.PublishedPort, error) {
	bad := func(why string) (*nucleusv1.PublishedPort, error) {
		return nil, errdefs.InvalidArgument("-p %q: %s; want [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp]", s, why)
	}
	spec, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	if proto != "tcp" {
		return bad("only tcp is supported")
	}
	parts := strings.Split(spec, ":")
	var host string
	switch len(parts) {
	case 2:
	case 3:
		host = parts[0]
		if _, err := netip.ParseAddr(host); err != nil {
			return bad("host address " + strconv.Quote(host) + " is not an IP address")
		}
		parts = parts[1:]
	default:
		return bad("wrong number of fields")
	}
	hp, err1 := strconv.ParseUint(parts[0], 10, 16)
	cp, err2 := strconv.ParseUint(parts[1], 10, 16)
	if err1 != nil || err2 != nil || hp == 0 || cp == 0 {
		return bad("ports are 1-65535")
	}
	return &nucleusv1.PublishedPort{HostIp: host, HostPort: uint32(hp), ContainerPort: uint32(cp), Protocol: proto}, nil
}

// FormatPorts shows published ports as docker's ps does:
// "127.0.0.1:8080->80/tcp, ...".
func FormatPorts(ports []*nucleusv1.PublishedPort) string {
	out := make([]string, len(ports))
	for i, p := range ports {
		host := p.GetHostIp()
		if host == "" {
			host = "127.0.0.1"
		}
		proto := p.GetProtocol()
		if proto == "" {
			proto = "tcp"
		}
		out[i] = host + ":" + strconv.Itoa(int(p.GetHostPort())) + "->" + strconv.Itoa(int(p.GetContainerPort())) + "/" + proto
	}
	return strings.Join(out, ", ")
}
