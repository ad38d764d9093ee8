package nettest

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	sandboxnetns "nucleus.dev/nucleus/sandbox/netns"
)

// Test addresses. None is routed beyond the test namespaces; the "public"
// ones are documentation ranges (RFC 5737), outside every default deny.
var (
	UplinkDaemon   = netip.MustParseAddr("198.51.100.1") // daemon side of the uplink (a host address)
	UplinkInternet = netip.MustParseAddr("198.51.100.2")
	DNSServer      = netip.MustParseAddr("192.0.2.53")
	AllowedHost    = netip.MustParseAddr("192.0.2.10")   // allowed.test
	WildHost       = netip.MustParseAddr("192.0.2.11")   // api.wild.test
	DeniedHost     = netip.MustParseAddr("192.0.2.20")   // denied.test
	CIDRHost       = netip.MustParseAddr("203.0.113.10") // in an allowed CIDR
	NeighbourHost  = netip.MustParseAddr("203.0.113.11") // next to it, outside
	MetadataHost   = netip.MustParseAddr("169.254.169.254")
	PrivateHost    = netip.MustParseAddr("10.99.0.10")
)

// Zone is the test DNS zone (TTL 60 s).
var Zone = map[string]netip.Addr{
	"allowed.test.":  AllowedHost,
	"api.wild.test.": WildHost,
	"denied.test.":   DeniedHost,
	"rebind.test.":   MetadataHost, // a public name pointing at an always-denied address
}

// HTTPPort is where every test host answers.
const HTTPPort = 80

// Options configures NewInternet.
type Options struct {
	// DaemonNetns is the pinned namespace getting the uplink and the
	// default route; empty means the current one.
	DaemonNetns string
	// Dir holds the pinned "internet" namespace (default t.TempDir()).
	Dir string
}

// Internet is the test's outside world.
type Internet struct {
	Netns string // pinned namespace path
	// Queries counts DNS queries the test zone server received.
	Queries atomic.Int64
	// Datagrams counts UDP datagrams received on UDPSinkPort (any host).
	Datagrams atomic.Int64
}

// UDPSinkPort is where every test host counts the datagrams it receives
// (a one-way leak needs no reply, so this is how a test sees one).
const UDPSinkPort = 9999

// NewInternet creates the internet namespace, its uplink to the daemon
// namespace and its servers; cleanup removes them.
func NewInternet(t testing.TB, opts Options) *Internet {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	in := &Internet{Netns: filepath.Join(opts.Dir, "internet")}
	if err := sandboxnetns.Create(in.Netns); err != nil {
		t.Fatalf("internet namespace: %v", err)
	}
	t.Cleanup(func() { _ = sandboxnetns.Remove(in.Netns) })
	if err := in.uplink(opts.DaemonNetns); err != nil {
		t.Fatalf("uplink: %v", err)
	}
	if err := in.serve(t); err != nil {
		t.Fatalf("internet servers: %v", err)
	}
	return in
}

// uplink links the daemon namespace (veth "uplink0", 198.51.100.1/24,
// default route) to the internet (veth "uplink1" holding every test host
// address).
func (in *Internet) uplink(daemonNetns string) error {
	inet, err := netns.GetFromPath(in.Netns)
	if err != nil {
		return err
	}
	defer inet.Close()
	daemon := netns.None()
	if daemonNetns != "" {
		if daemon, err = netns.GetFromPath(daemonNetns); err != nil {
			return err
		}
		defer daemon.Close()
	} else if daemon, err = netns.Get(); err != nil {
		return err
	} else {
		defer daemon.Close()
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "uplink0"
	attrs.Namespace = netlink.NsFd(int(daemon))
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: "uplink1", PeerNamespace: netlink.NsFd(int(inet))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("uplink veth: %w", err)
	}
	if err := configure(daemon, "uplink0", []netip.Prefix{netip.PrefixFrom(UplinkDaemon, 24)}, UplinkInternet); err != nil {
		return fmt.Errorf("daemon side: %w", err)
	}
	hosts := []netip.Prefix{netip.PrefixFrom(UplinkInternet, 24)}
	for _, a := range []netip.Addr{DNSServer, AllowedHost, WildHost, DeniedHost, CIDRHost, NeighbourHost, MetadataHost, PrivateHost} {
		hosts = append(hosts, netip.PrefixFrom(a, 32))
	}
	if err := configure(inet, "uplink1", hosts, netip.Addr{}); err != nil {
		return fmt.Errorf("internet side: %w", err)
	}
	return nil
}

func configure(ns netns.NsHandle, name string, addrs []netip.Prefix, gw netip.Addr) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		na, err := netlink.ParseAddr(a.String())
		if err != nil {
			return err
		}
		if err := h.AddrAdd(link, na); err != nil {
			return fmt.Errorf("%s on %s: %w", a, name, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return err
	}
	if gw.IsValid() {
		if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}); err != nil {
			return fmt.Errorf("default route: %w", err)
		}
	}
	return nil
}

// serve starts the HTTP server (every address, port 80, answering
// "host <address reached>") and the DNS server of the test zone.
func (in *Internet) serve(t testing.TB) error {
	var ln net.Listener
	var pc net.PacketConn
	var tcpDNS net.Listener
	var sink net.PacketConn
	err := InNetns(in.Netns, func() error {
		var err error
		if sink, err = net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", UDPSinkPort)); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", HTTPPort)); err != nil {
			return err
		}
		dnsAddr := netip.AddrPortFrom(DNSServer, 53).String()
		if pc, err = net.ListenPacket("udp4", dnsAddr); err != nil {
			return err
		}
		tcpDNS, err = net.Listen("tcp4", dnsAddr)
		return err
	})
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		ap, _ := netip.ParseAddrPort(local.String())
		fmt.Fprintf(w, "host %s", ap.Addr())
	})}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
			in.Datagrams.Add(1)
		}
	}()
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(in.answer)}
	tcp := &dns.Server{Listener: tcpDNS, Handler: dns.HandlerFunc(in.answer)}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	t.Cleanup(func() {
		srv.Close()
		sink.Close()
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return nil
}

func (in *Internet) answer(w dns.ResponseWriter, req *dns.Msg) {
	in.Queries.Add(1)
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	addr, ok := Zone[dns.CanonicalName(q.Name)]
	switch {
	case !ok:
		resp.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeA:
		resp.Answer = append(resp.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   net.IP(addr.AsSlice()),
		})
	}
	_ = w.WriteMsg(resp)
}
