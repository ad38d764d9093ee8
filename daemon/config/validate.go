package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// problems collects validation errors, each naming its key.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, errdefs.InvalidArgument("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Validate checks every key and returns all problems at once, joined; each
// is an errdefs InvalidArgument whose message starts with the key. The
// ceilings [limits] leaves to the host are those of this host.
func (c *Config) Validate() error { return c.validateOn(HostFacts()) }

func (c *Config) validateOn(h Host) error {
	var p problems
	if c.Version != CurrentVersion {
		p.add("version", "got %d; this nucleusd reads version = %d", c.Version, CurrentVersion)
	}
	c.API.validate(&p)
	c.Runsc.validate(&p, c.Security.AllowedNetworks)
	c.Security.validate(&p)
	c.Defaults.validate(&p)
	c.Limits.validate(&p, c.API.MaxRecvBytes)
	c.Limits.validateCeilings(&p, &c.Defaults, h)
	c.Network.validate(&p)
	c.Hooks.validate(&p)
	c.Logging.validate(&p)
	c.Snapshots.validate(&p)
	c.Supervisors.validate(&p)
	c.Images.validate(&p)
	if c.Metrics.Address != "" {
		checkHostPort(&p, "metrics.address", c.Metrics.Address)
	}
	return errors.Join(p...)
}

func (a *APIConfig) validate(p *problems) {
	checkAbs(p, "api.socket", a.Socket, false)
	tls := []struct{ key, path string }{
		{"api.tls_cert", a.TLSCert}, {"api.tls_key", a.TLSKey}, {"api.tls_client_ca", a.TLSClientCA},
	}
	if a.TCPAddress != "" {
		checkHostPort(p, "api.tcp_address", a.TCPAddress)
	}
	for _, f := range tls {
		if a.TCPAddress != "" && f.path == "" {
			p.add(f.key, "required when api.tcp_address is set (TCP without mutual TLS is refused)")
		}
		checkAbs(p, f.key, f.path, true)
	}
	if a.MaxRecvBytes < 64*KiB {
		p.add("api.max_recv_bytes", "%s is too small; at least 64k", a.MaxRecvBytes)
	}
}

func (r *RunscConfig) validate(p *problems, allowed []string) {
	checkAbs(p, "runsc.path", r.Path, true)
	if !slices.Contains([]string{"systrap", "ptrace", "kvm"}, r.Platform) {
		p.add("runsc.platform", "%q is not one of systrap, ptrace, kvm", r.Platform)
	}
	if !NetworkAllowed(allowed, r.Network) {
		p.add("runsc.network", "%q is not in security.allowed_networks %q", r.Network, allowed)
	}
	for i, f := range r.ExtraFlags {
		key := fmt.Sprintf("runsc.extra_flags[%d]", i)
		name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		switch {
		case !strings.HasPrefix(f, "--") || name == "":
			p.add(key, "%q is not a --flag or --flag=value", f)
		case slices.Contains(ownedRunscFlags(), name):
			p.add(key, "--%s is set by nucleusd itself; use the [runsc] keys", name)
		}
	}
}

// ownedRunscFlags are the global runsc flags nucleusd derives from its own
// configuration and state; extra_flags may not repeat them.
func ownedRunscFlags() []string {
	return []string{"root", "platform", "network", "overlay2", "debug", "debug-log", "log", "log-format", "bundle"}
}

func (s *SecurityConfig) validate(p *problems) {
	for i, path := range s.AllowedHostPaths {
		checkAbs(p, fmt.Sprintf("security.allowed_host_paths[%d]", i), path, false)
		if filepath.Clean(path) == "/" {
			p.add(fmt.Sprintf("security.allowed_host_paths[%d]", i), "\"/\" would allow every host path")
		}
	}
	for i, n := range s.AllowedNetworks {
		if !slices.Contains([]string{NetworkNone, NetworkLoopback, NetworkSandbox, NetworkEgress, NetworkHost}, n) {
			p.add(fmt.Sprintf("security.allowed_networks[%d]", i), "%q is not one of none, loopback (sandbox), egress, host", n)
		}
	}
	if s.HostPidsLimit < 128 {
		p.add("security.host_pids_limit", "%d is too small for the sentry and gofer; at least 128", s.HostPidsLimit)
	}
	if s.UsernsSize == 0 {
		p.add("security.userns_size", "must be at least 1")
	}
	if s.UsernsRanges == 0 {
		p.add("security.userns_ranges", "must be at least 1")
	}
	if s.UsernsBase < minUsernsBase {
		p.add("security.userns_base", "%d would map sandboxes onto system or regular host users; at least %d", s.UsernsBase, minUsernsBase)
	}
	if end := uint64(s.UsernsBase) + uint64(s.UsernsSize)*uint64(s.UsernsRanges); end > 1<<32-1 {
		p.add("security.userns_ranges", "userns_base + userns_size*userns_ranges = %d passes the last valid id %d", end, uint64(1<<32-2))
	}
}

// minUsernsBase keeps the ranges clear of system users, regular users and
// nobody (65534).
const minUsernsBase = 65536

func (d *DefaultsConfig) validate(p *problems) {
	if d.Memory < 16*MiB {
		p.add("defaults.memory", "%s is too small; at least 16m", d.Memory)
	}
	if d.CPUs < 0 {
		p.add("defaults.cpus", "%v is negative", d.CPUs)
	}
	if d.Pids < 1 {
		p.add("defaults.pids", "%d must be at least 1", d.Pids)
	}
	if d.Timeout < 0 {
		p.add("defaults.timeout", "%s is negative", d.Timeout)
	}
	if d.TmpSize < 1 {
		p.add("defaults.tmp_size", "must be positive")
	}
	if d.Disk < MiB {
		p.add("defaults.disk", "%s is too small; at least 1m", d.Disk)
	}
	if d.ShmSize < 1 {
		p.add("defaults.shm_size", "must be positive")
	}
}

func (l *LimitsConfig) validate(p *problems, maxRecv ByteSize) {
	positive := []struct {
		key string
		v   int64
	}{
		{"limits.max_containers", int64(l.MaxContainers)},
		{"limits.max_containers_per_uid", int64(l.MaxContainersPerUID)},
		{"limits.max_exec_output_bytes", int64(l.MaxExecOutputBytes)},
		{"limits.log_max_bytes", int64(l.LogMaxBytes)},
		{"limits.max_request_bytes", int64(l.MaxRequestBytes)},
		{"limits.events_retained", int64(l.EventsRetained)},
		{"limits.max_file_bytes", int64(l.MaxFileBytes)},
		{"limits.max_dir_entries", int64(l.MaxDirEntries)},
		{"limits.max_streams_per_uid", int64(l.MaxStreamsPerUID)},
		{"limits.max_streams_root", int64(l.MaxStreamsRoot)},
		{"limits.max_streams", int64(l.MaxStreams)},
		{"limits.max_connections_per_uid", int64(l.MaxConnectionsPerUID)},
		{"limits.max_connections_root", int64(l.MaxConnectionsRoot)},
		{"limits.max_connections", int64(l.MaxConnections)},
		{"limits.events_subscriber_buffer", int64(l.EventsSubscriberBuffer)},
	}
	for _, f := range positive {
		if f.v < 1 {
			p.add(f.key, "%d must be positive", f.v)
		}
	}
	if l.MaxContainersPerUID > l.MaxContainers {
		p.add("limits.max_containers_per_uid", "%d exceeds limits.max_containers (%d)", l.MaxContainersPerUID, l.MaxContainers)
	}
	if c := l.ContainersCPUShares; c != 0 && (c < 2 || c > 262144) {
		p.add("limits.containers_cpu_shares", "%d: want 0 (leave alone) or 2-262144", c)
	}
	if l.MaxRequestBytes > maxRecv {
		p.add("limits.max_request_bytes", "%s exceeds api.max_recv_bytes (%s)", l.MaxRequestBytes, maxRecv)
	}
}

func (l *LoggingConfig) validate(p *problems) {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, l.Level) {
		p.add("logging.level", "%q is not one of debug, info, warn, error", l.Level)
	}
	if !slices.Contains([]string{"auto", "json", "console"}, l.Format) {
		p.add("logging.format", "%q is not one of auto, json, console", l.Format)
	}
}

// checkAbs requires an absolute, clean path; optional allows "".
func checkAbs(p *problems, key, path string, optional bool) {
	switch {
	case path == "" && optional:
	case path == "":
		p.add(key, "must not be empty")
	case !filepath.IsAbs(path):
		p.add(key, "%q is not an absolute path", path)
	case filepath.Clean(path) != path:
		p.add(key, "%q is not clean; write %q", path, filepath.Clean(path))
	}
}

func checkHostPort(p *problems, key, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		p.add(key, "%q is not host:port", addr)
	}
}
