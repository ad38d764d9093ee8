package network

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"golang.org/x/net/netutil"
)

// resolver is the containers' only DNS server: it answers a container only
// for names its policy allows and lets the addresses it answers through
// the container's nftables set before the container sees them.
type resolver struct {
	m       *Manager
	servers []*dns.Server
	// upstreamSlots bounds the queries waiting on upstream resolvers at
	// once; beyond it a query gets SERVFAIL at once.
	upstreamSlots chan struct{}

	mu     sync.RWMutex
	byAddr map[netip.Addr]*dnsEntry
}

// dnsEntry is one container's resolver state.
type dnsEntry struct {
	id     string
	policy Policy
	// learned maps each address let through to when its set entry expires.
	mu      sync.Mutex
	learned map[netip.Addr]time.Time
	// stale is set (under mu) when the entry is replaced or removed, so a
	// query still in flight cannot add addresses for an old policy.
	stale bool
	// denials bounds the "name not allowed" log lines (under mu).
	denials logWindow
	// inflight bounds this container's queries waiting upstream, so one
	// container cannot take every upstream slot.
	inflight chan struct{}
}

const (
	upstreamTimeout  = 2 * time.Second
	maxUpstreamQuery = 256
	maxTCPClients    = 256 // open DNS-over-TCP connections, all containers together
	maxQueriesEach   = 32  // queries waiting upstream per container
)

func startResolver(m *Manager) (*resolver, error) {
	r := &resolver{m: m, byAddr: map[netip.Addr]*dnsEntry{}, upstreamSlots: make(chan struct{}, maxUpstreamQuery)}
	addr := netip.AddrPortFrom(m.cfg.Gateway(), m.cfg.DNSPort).String()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("network: resolver on %s/udp: %w", addr, err)
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("network: resolver on %s/tcp: %w", addr, err)
	}
	r.servers = []*dns.Server{
		{PacketConn: pc, Handler: r, UDPSize: dns.DefaultMsgSize},
		{Listener: netutil.LimitListener(ln, maxTCPClients), Handler: r, ReadTimeout: upstreamTimeout, WriteTimeout: upstreamTimeout},
	}
	for _, s := range r.servers {
		go func() { _ = s.ActivateAndServe() }()
	}
	return r, nil
}

func (r *resolver) close() {
	for _, s := range r.servers {
		_ = s.Shutdown()
		// Shutdown does nothing to a server whose goroutine has not
		// started serving yet: close its socket too, or a Close right
		// after New leaves the port bound.
		if s.PacketConn != nil {
			_ = s.PacketConn.Close()
		}
		if s.Listener != nil {
			_ = s.Listener.Close()
		}
	}
}

// set installs (or replaces, forgetting learned addresses) addr's entry.
func (r *resolver) set(addr netip.Addr, id string, p Policy) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retire(addr)
	r.byAddr[addr] = &dnsEntry{id: id, policy: p, learned: map[netip.Addr]time.Time{},
		inflight: make(chan struct{}, maxQueriesEach)}
}

func (r *resolver) remove(addr netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retire(addr)
	delete(r.byAddr, addr)
}

// retire marks addr's current entry stale; r.mu is held.
func (r *resolver) retire(addr netip.Addr) {
	if old := r.byAddr[addr]; old != nil {
		old.mu.Lock()
		old.stale = true
		old.mu.Unlock()
	}
}

func (r *resolver) entry(addr netip.Addr) *dnsEntry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byAddr[addr]
}

// ServeDNS answers one query from a container.
func (r *resolver) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	reply := func(m *dns.Msg) { _ = w.WriteMsg(m) }
	fail := func(code int) *dns.Msg { m := new(dns.Msg); m.SetRcode(req, code); return m }
	src, _ := netip.ParseAddrPort(w.RemoteAddr().String())
	e := r.entry(src.Addr().Unmap())
	switch {
	case e == nil:
		reply(fail(dns.RcodeRefused))
		return
	case len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery:
		reply(fail(dns.RcodeFormatError))
		return
	}
	q := req.Question[0]
	if !e.policy.Allows(q.Name) {
		e.mu.Lock()
		ok, withheld := e.denials.allow(time.Now())
		e.mu.Unlock()
		if withheld > 0 {
			r.m.log.Info("dns: more names not allowed", zap.String("id", e.id), zap.Int("not_logged", withheld))
		}
		if ok {
			r.m.log.Info("dns: name not allowed", zap.String("id", e.id), zap.String("name", q.Name),
				zap.String("type", dns.TypeToString[q.Qtype]))
		}
		reply(fail(dns.RcodeNameError))
		return
	}
	if q.Qtype == dns.TypeAAAA { // containers have IPv4 only: answer "no such record"
		reply(fail(dns.RcodeSuccess))
		return
	}
	select {
	case e.inflight <- struct{}{}:
	default:
		reply(fail(dns.RcodeServerFailure))
		return
	}
	defer func() { <-e.inflight }()
	select {
	case r.upstreamSlots <- struct{}{}:
	default:
		reply(fail(dns.RcodeServerFailure))
		return
	}
	resp, err := r.forward(req)
	<-r.upstreamSlots
	if err != nil {
		r.m.log.Warn("dns: upstream failed", zap.String("id", e.id), zap.String("name", q.Name), zap.Error(err))
		reply(fail(dns.RcodeServerFailure))
		return
	}
	if err := r.admit(e, resp); err != nil {
		r.m.log.Warn("dns: allowing answer addresses", zap.String("id", e.id), zap.String("name", q.Name), zap.Error(err))
		reply(fail(dns.RcodeServerFailure))
		return
	}
	resp.Id = req.Id
	if w.LocalAddr().Network() == "udp" { // fit the client's buffer; it retries over TCP
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	reply(resp)
}

// forward asks the upstream resolvers in turn, over TCP when UDP truncates.
func (r *resolver) forward(req *dns.Msg) (*dns.Msg, error) {
	q := req.Copy()
	q.Id = dns.Id()
	q.RecursionDesired = true
	err := fmt.Errorf("no upstream resolver configured")
	for _, up := range r.m.cfg.Upstream {
		for _, proto := range []string{"udp", "tcp"} {
			c := &dns.Client{Net: proto, Timeout: upstreamTimeout}
			var resp *dns.Msg
			resp, _, err = c.Exchange(q, up.String())
			if err == nil && resp.Truncated && proto == "udp" {
				continue
			}
			if err == nil {
				return resp, nil
			}
			break
		}
	}
	return nil, err
}

// admit drops AAAA records, clamps every TTL to the configured bounds and
// adds the A records' addresses to the container's learned set.
func (r *resolver) admit(e *dnsEntry, resp *dns.Msg) error {
	cfg := r.m.cfg
	ttl := func(h *dns.RR_Header) time.Duration {
		d := min(max(time.Duration(h.Ttl)*time.Second, cfg.MinTTL), cfg.MaxTTL)
		h.Ttl = uint32(d / time.Second)
		return d
	}
	var addrs []netip.Addr
	var longest time.Duration
	kept := resp.Answer[:0]
	for _, rr := range resp.Answer {
		switch v := rr.(type) {
		case *dns.AAAA:
			continue
		case *dns.A:
			if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
				addrs = append(addrs, a)
			}
		}
		longest = max(longest, ttl(rr.Header()))
		kept = append(kept, rr)
	}
	resp.Answer = kept
	for _, rr := range resp.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			ttl(rr.Header())
		}
	}
	if len(addrs) == 0 || e.policy.Mode != ModeAllowlist {
		return nil
	}
	return r.m.learn(e, addrs, longest)
}
