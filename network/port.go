package network

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// ParsePort parses docker's -p syntax: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp].
// A missing HOST_IP is defaultHost (the daemon passes the first of
// Config.PublishAddrs).
func ParsePort(s string, defaultHost netip.Addr) (Port, error) {
	bad := func(why string) (Port, error) {
		return Port{}, fmt.Errorf("published port %q: %s: %w", s, why, errdefs.ErrInvalidArgument)
	}
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" {
		return bad("only tcp is supported")
	}
	host := defaultHost
	i := strings.LastIndex(spec, ":")
	if i < 0 {
		return bad("want [HOST_IP:]HOST_PORT:CONTAINER_PORT")
	}
	hostPart, containerPart := spec[:i], spec[i+1:]
	if j := strings.LastIndex(hostPart, ":"); j >= 0 {
		a, err := netip.ParseAddr(strings.Trim(hostPart[:j], "[]"))
		if err != nil {
			return bad("host address: " + err.Error())
		}
		host, hostPart = a, hostPart[j+1:]
	}
	hp, err1 := parsePortNumber(hostPart)
	cp, err2 := parsePortNumber(containerPart)
	if err1 != nil || err2 != nil {
		return bad("ports must be 1-65535")
	}
	return Port{HostIP: host, HostPort: hp, ContainerPort: cp, Proto: proto}, nil
}

func parsePortNumber(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q", s)
	}
	return uint16(n), nil
}

// validatePorts checks published ports against the operator's addresses
// and against each other.
func validatePorts(ports []Port, allowed []netip.Addr) error {
	seen := map[netip.AddrPort]bool{}
	for _, p := range ports {
		if p.Proto != "tcp" || p.HostPort == 0 || p.ContainerPort == 0 {
			return fmt.Errorf("published port %s: want tcp and ports 1-65535: %w", p, errdefs.ErrInvalidArgument)
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == p.HostIP
		}
		if !ok {
			return fmt.Errorf("published port %s: host address %s is not one the operator allows (%v): %w",
				p, p.HostIP, allowed, errdefs.ErrPermissionDenied)
		}
		ap := netip.AddrPortFrom(p.HostIP, p.HostPort)
		if seen[ap] {
			return fmt.Errorf("published port %s listed twice: %w", ap, errdefs.ErrInvalidArgument)
		}
		seen[ap] = true
	}
	return nil
}
