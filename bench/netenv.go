package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/network/nettest"
	sandboxnetns "nucleus.dev/nucleus/sandbox/netns"
)

// The network figure's private world: a "daemon" namespace (its uplink a
// veth into an "internet" namespace holding a TCP sink) where a second
// nucleusd runs with the egress network, and a "raw" namespace joined to
// the daemon namespace by a plain routed veth for raw runsc. No packet
// leaves the machine; the host's own network is never touched.
var (
	benchUplinkDaemon   = netip.MustParseAddr("198.51.100.1")
	benchUplinkInternet = netip.MustParseAddr("198.51.100.2")
	benchRawGateway     = netip.MustParseAddr("10.215.0.1")
	benchRawAddr        = netip.MustParseAddr("10.215.0.2")
)

const (
	benchNetSubnet = "10.214.0.0/24"
	benchSinkPort  = 9000
)

// netEnv is the network figure's daemon and namespaces.
type netEnv struct {
	dir                     string
	daemonNS, inetNS, rawNS string
	daemon                  *exec.Cmd
	done                    chan struct{}
	c                       *client.Client
	sink                    net.Listener
}

func newNetEnv(ctx context.Context, e *env) (*netEnv, error) {
	n := &netEnv{dir: filepath.Join(e.base, "net")}
	if err := os.MkdirAll(n.dir, 0o711); err != nil {
		return n, err
	}
	n.daemonNS, n.inetNS, n.rawNS = filepath.Join(n.dir, "daemon-ns"), filepath.Join(n.dir, "internet-ns"), filepath.Join(n.dir, "raw-ns")
	for _, p := range []string{n.daemonNS, n.inetNS} {
		if err := sandboxnetns.Create(p); err != nil {
			return n, err
		}
	}
	if err := vethBetween(n.daemonNS, n.inetNS, "uplink0", "uplink1",
		netip.PrefixFrom(benchUplinkDaemon, 24), netip.PrefixFrom(benchUplinkInternet, 24), benchUplinkInternet); err != nil {
		return n, fmt.Errorf("uplink: %w", err)
	}
	if err := routeIn(n.inetNS, netip.MustParsePrefix("10.215.0.0/24"), benchUplinkDaemon); err != nil {
		return n, err
	}
	if err := nettest.InNetns(n.inetNS, func() (err error) {
		n.sink, err = net.Listen("tcp4", netip.AddrPortFrom(benchUplinkInternet, benchSinkPort).String())
		return err
	}); err != nil {
		return n, err
	}
	return n, n.start(ctx, e)
}

// start runs nucleusd in the daemon namespace with the egress network on.
func (n *netEnv) start(ctx context.Context, e *env) error {
	conf := filepath.Join(n.dir, "nucleusd.toml")
	cfg := fmt.Sprintf(`version = 1
[runsc]
path = %q
extra_flags = %s
[api]
socket_group = "root"
[security]
allowed_networks = ["none", "egress"]
[network]
enabled = true
subnet = %q
bridge = "nucbench0"
upstream_resolvers = ["%s"]
allowed_cidrs = ["%s/32"]
`, e.cfg.runsc, tomlStrings(e.cfg.runscFlags), benchNetSubnet, benchUplinkInternet, benchUplinkInternet)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(n.dir, "nucleusd.log"))
	if err != nil {
		return err
	}
	state := filepath.Join(n.dir, "state")
	cmd := exec.Command("nsenter", "--net="+n.daemonNS, e.cfg.nucleusd, "--config", conf,
		"--root", filepath.Join(n.dir, "root"), "--state", state, "--log-level", e.cfg.daemonLogLevel)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = e.daemonEnv()
	if err := cmd.Start(); err != nil {
		return err
	}
	n.daemon, n.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(n.done) }()
	if n.c, err = client.New(ctx, "unix://"+filepath.Join(state, "nucleusd.sock")); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		vctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := n.c.Version(vctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("the network figure's nucleusd exited at start; see %s", logf.Name())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the network figure's nucleusd did not answer: %v", err)
		}
	}
}

// newRawNS makes the raw side's namespace, its veth into the daemon
// namespace routed by it.
func (n *netEnv) newRawNS() error {
	_ = sandboxnetns.Remove(n.rawNS)
	// The last run's pair may outlive its namespace's mount for a while.
	if d, err := netns.GetFromPath(n.daemonNS); err == nil {
		if h, err := netlink.NewHandleAt(d); err == nil {
			if l, err := h.LinkByName("rawh0"); err == nil {
				_ = h.LinkDel(l)
			}
			h.Close()
		}
		d.Close()
	}
	if err := sandboxnetns.Create(n.rawNS); err != nil {
		return err
	}
	if err := vethBetween(n.rawNS, n.daemonNS, "eth0", "rawh0",
		netip.PrefixFrom(benchRawAddr, 24), netip.PrefixFrom(benchRawGateway, 24), benchRawGateway); err != nil {
		return fmt.Errorf("raw veth: %w", err)
	}
	return nil
}

// close stops the daemon (after the figure deleted its containers) and
// removes the namespaces.
func (n *netEnv) close() {
	if n.c != nil {
		n.c.Close()
	}
	if n.daemon != nil {
		_ = n.daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			_ = n.daemon.Process.Kill()
			<-n.done
		}
	}
	if n.sink != nil {
		n.sink.Close()
	}
	for _, p := range []string{n.rawNS, n.daemonNS, n.inetNS} {
		_ = sandboxnetns.Remove(p)
	}
}

// vethBetween makes a veth pair straight into two pinned namespaces (it is
// never in the caller's), addresses both ends and sets a default route via
// gw in the first.
func vethBetween(nsA, nsB, nameA, nameB string, addrA, addrB netip.Prefix, gw netip.Addr) error {
	a, err := netns.GetFromPath(nsA)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := netns.GetFromPath(nsB)
	if err != nil {
		return err
	}
	defer b.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.Namespace = nameA, netlink.NsFd(int(a))
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: nameB, PeerNamespace: netlink.NsFd(int(b))}); err != nil {
		return err
	}
	for _, side := range []struct {
		ns   netns.NsHandle
		name string
		addr netip.Prefix
		gw   netip.Addr
	}{{a, nameA, addrA, gw}, {b, nameB, addrB, netip.Addr{}}} {
		if err := configureLink(side.ns, side.name, side.addr, side.gw); err != nil {
			return err
		}
	}
	return nil
}

func configureLink(ns netns.NsHandle, name string, addr netip.Prefix, gw netip.Addr) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	na, err := netlink.ParseAddr(addr.String())
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, na); err != nil {
		return err
	}
	if err := h.LinkSetUp(link); err != nil {
		return err
	}
	if gw.IsValid() {
		return h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())})
	}
	return nil
}

// routeIn adds a route to dst via gw in the pinned namespace ns.
func routeIn(ns string, dst netip.Prefix, gw netip.Addr) error {
	h0, err := netns.GetFromPath(ns)
	if err != nil {
		return err
	}
	defer h0.Close()
	h, err := netlink.NewHandleAt(h0)
	if err != nil {
		return err
	}
	defer h.Close()
	_, ipnet, _ := net.ParseCIDR(dst.String())
	return h.RouteAdd(&netlink.Route{Dst: ipnet, Gw: net.IP(gw.AsSlice())})
}

// tomlStrings is a TOML array of strings.
func tomlStrings(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
