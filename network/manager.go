package network

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Manager owns the bridge, the nftables tables, the resolver and every
// container attachment. Its methods are safe for concurrent use.
type Manager struct {
	cfg    Config
	leases Leases
	log    *zap.Logger

	// mu serialises Attach, Detach, Update and Reconcile and guards the
	// fields below.
	mu       sync.Mutex
	attached map[string]*state
	closed   bool
	nextAddr netip.Addr // IPAM cursor: freed addresses are reused last

	// teardown lets Reconcile (Lock) exclude detaches removing host
	// objects outside mu (RLock).
	teardown sync.RWMutex

	// nftMu serialises nftables batches (the resolver adds DNS answers
	// without holding mu).
	nftMu sync.Mutex

	dns    *resolver
	spares *spares
}

// Attachment is what a container needs to use its network: the namespace
// runsc joins and the files and addresses to show the workload.
type Attachment struct {
	ID string
	// NetnsPath is the named network namespace (a bind mount) to put in the
	// OCI spec's network namespace path.
	NetnsPath string
	// Addr is the container's address within Prefix; Gateway and DNS are
	// the bridge address.
	Addr    netip.Addr
	Prefix  netip.Prefix
	Gateway netip.Addr
	DNS     netip.Addr
	// ResolvConf is the /etc/resolv.conf the container must get.
	ResolvConf []byte
	// HostVeth is the host side of the veth pair.
	HostVeth string
	Policy   Policy
	Ports    []Port
}

// Counters are a container's traffic counters.
type Counters struct {
	// RxBytes/TxBytes are bytes received/sent by the container.
	RxBytes, TxBytes     uint64
	RxPackets, TxPackets uint64
	// DroppedEgress counts packets from the container its policy dropped.
	DroppedEgress uint64
}

// New sets up the host side: the bridge with the gateway address, IP
// forwarding, the nftables tables (NAT out of every non-bridge interface,
// the input/forward base chains, the anti-spoofing bridge table) and the
// resolver on the gateway. It must run in the network namespace that is
// the containers' uplink. log may be nil.
func New(cfg Config, leases Leases, log *zap.Logger) (*Manager, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if leases == nil {
		return nil, fmt.Errorf("network: no lease store: %w", errdefs.ErrInvalidArgument)
	}
	if log == nil {
		log = zap.NewNop()
	}
	m := &Manager{cfg: cfg, leases: leases, log: log, attached: map[string]*state{}}
	if err := m.setup(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Config returns the defaulted configuration in use (AlwaysDeny includes
// the host addresses found at New).
func (m *Manager) Config() Config { return m.cfg }

// Attach creates id's namespace, veth pair, address, route, nftables chain
// and sets, resolver entry and published ports. Any failure undoes
// everything Attach did. Attaching an id that is attached already fails
// with errdefs.ErrAlreadyExists.
func (m *Manager) Attach(ctx context.Context, id string, p Policy, ports []Port) (*Attachment, error) {
	return m.attach(ctx, id, p, ports, false)
}

// Restore re-adopts id after a daemon restart: it keeps the namespace, veth
// and lease that survived, rewrites the policy's nftables objects in one
// batch (keeping the addresses its resolver answers let through), and
// restores the resolver entry and published ports. It fails (with
// errdefs.ErrNotFound) if the namespace or lease is gone; the caller then
// treats the container as broken.
func (m *Manager) Restore(ctx context.Context, id string, p Policy, ports []Port) (*Attachment, error) {
	return m.attach(ctx, id, p, ports, true)
}

// Detach removes everything Attach made for id. It is idempotent and works
// for an id this Manager never saw (after a restart).
func (m *Manager) Detach(ctx context.Context, id string) error { return m.detach(ctx, id) }

// Update replaces the egress policy of an attached container; new
// connections see it at once (established ones are left alone).
func (m *Manager) Update(ctx context.Context, id string, p Policy) error { return m.update(ctx, id, p) }

// Reconcile removes every interface, namespace, nftables chain, set and
// rule, lease and resolver entry whose container live reports as gone.
// Call it after New at daemon start, before Restore.
func (m *Manager) Reconcile(ctx context.Context, live func(id string) bool) error {
	return m.reconcile(ctx, live)
}

// Attachment returns id's attachment or errdefs.ErrNotFound.
func (m *Manager) Attachment(id string) (*Attachment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.attached[id]
	if !ok {
		return nil, fmt.Errorf("network of container %s: %w", id, errdefs.ErrNotFound)
	}
	a := st.att
	return &a, nil
}

// Counters returns id's traffic counters or errdefs.ErrNotFound.
func (m *Manager) Counters(id string) (Counters, error) { return m.counters(id) }

// Close stops the resolver and the published-port listeners. Kernel
// objects stay (containers keep running); Detach or Reconcile removes them.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	for _, st := range m.attached {
		st.closePorts()
	}
	m.mu.Unlock()
	if m.dns != nil {
		m.dns.close()
	}
	if m.spares != nil {
		m.spares.close()
	}
	return nil
}
