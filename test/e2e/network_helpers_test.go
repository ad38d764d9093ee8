package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/network/nettest"
	sandboxnetns "nucleus.dev/nucleus/sandbox/netns"
)

// netSubnet is the egress network's subnet in the network tests.
const netSubnet = "10.213.0.0/24"

// netGateway is the bridge's address (the containers' resolver).
const netGateway = "10.213.0.1"

// netEnv is a daemon in a network namespace of its own whose only uplink
// is a veth into the test "internet" (nettest): no packet a test sends
// leaves the machine, and the host's interfaces, routes and nftables
// ruleset are never touched.
type netEnv struct {
	d        *Daemon
	c        *client.Client
	in       *nettest.Internet
	daemonNS string // the daemon's pinned namespace
}

// newNetEnv starts such a daemon with the egress network on; extra is
// appended to its [network] section.
func newNetEnv(t *testing.T, extra string) *netEnv {
	t.Helper()
	testutil.E2E(t)
	testutil.RequireRoot(t, "the network tests make network namespaces, veths and nftables tables")
	dir := t.TempDir()
	ns := filepath.Join(dir, "daemon-netns")
	if err := sandboxnetns.Create(ns); err != nil {
		t.Fatalf("daemon namespace: %v", err)
	}
	t.Cleanup(func() { _ = sandboxnetns.Remove(ns) })
	in := nettest.NewInternet(t, nettest.Options{DaemonNetns: ns, Dir: dir})
	cfg := fmt.Sprintf(`[security]
allowed_networks = ["none", "loopback", "egress"]
[network]
enabled = true
subnet = %q
upstream_resolvers = ["%s"]
%s
`, netSubnet, nettest.DNSServer, extra)
	d := StartDaemon(t, DaemonOptions{Config: cfg, Netns: ns})
	return &netEnv{d: d, c: d.Client(), in: in, daemonNS: ns}
}

// egressSpec is a long-running container on the egress network.
func egressSpec(name string, pol *nucleusv1.EgressPolicy, ports ...*nucleusv1.PublishedPort) *nucleusv1.ContainerSpec {
	return &nucleusv1.ContainerSpec{
		Name: name, Args: []string{"sleep", "600"}, Network: "egress", Egress: pol, PublishedPorts: ports,
	}
}

// run creates and starts spec and returns the container.
func (e *netEnv) run(t *testing.T, spec *nucleusv1.ContainerSpec) *nucleusv1.Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctr, err := e.c.Create(ctx, spec)
	if err != nil {
		t.Fatalf("create %s: %v", spec.GetName(), err)
	}
	if ctr, err = e.c.Start(ctx, ctr.GetId()); err != nil {
		t.Fatalf("start %s: %v", spec.GetName(), err)
	}
	return ctr
}

// sh runs script with busybox's sh in the container (the default rootfs
// binds the host's /bin) and returns its combined output and exit code.
func (e *netEnv) sh(t *testing.T, id, script string) (string, int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	res, err := e.c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{
		Id: id, Args: []string{"/bin/busybox", "sh", "-c", script}, Timeout: durationpb.New(40 * time.Second),
	})
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	return string(res.GetStdout()) + string(res.GetStderr()), res.GetExitCode()
}

// get sends an HTTP GET to host:port from inside the container with
// busybox nc (3 s timeout; busybox's wget crashes under gVisor); ok is
// whether an answer came.
func (e *netEnv) get(t *testing.T, id, hostPort string) (string, bool) {
	t.Helper()
	host, port, found := strings.Cut(hostPort, ":")
	if !found {
		port = "80"
	}
	out, code := e.sh(t, id, fmt.Sprintf("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 %s %s", host, port))
	return out, code == 0 && strings.Contains(out, "HTTP/1.")
}

// wantGet asserts that host[:port] answers from the container with want
// in the body.
func (e *netEnv) wantGet(t *testing.T, id, hostPort, want string) {
	t.Helper()
	out, ok := e.get(t, id, hostPort)
	if !ok || !strings.Contains(out, want) {
		t.Errorf("GET %s from the container: ok=%v %q; want an answer with %q", hostPort, ok, out, want)
	}
}

// wantNoGet asserts that host[:port] does not answer from the container.
func (e *netEnv) wantNoGet(t *testing.T, id, hostPort string) {
	t.Helper()
	if out, ok := e.get(t, id, hostPort); ok {
		t.Errorf("GET %s from the container answered %q; want it unreachable", hostPort, out)
	}
}

func allowlistPolicy(domains, cidrs []string) *nucleusv1.EgressPolicy {
	return &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALLOWLIST, Domains: domains, Cidrs: cidrs}
}
