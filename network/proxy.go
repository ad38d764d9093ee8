package network

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Published ports are forwarded by a TCP proxy in the manager's process
// rather than by DNAT: it listens only on the address the operator allows
// (so "127.0.0.1 and no other address" holds by construction), needs no
// route_localnet for loopback, and a port already taken on the host fails
// Attach with a clear error.

const (
	proxyDialTimeout = 5 * time.Second
	proxyMaxConns    = 512 // per published port
)

type proxy struct {
	ln     net.Listener
	target netip.AddrPort
	log    *zap.Logger
	slots  chan struct{}

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (m *Manager) listen(p Port, addr netip.Addr) (*proxy, error) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(p.HostIP, p.HostPort).String())
	if err != nil {
		return nil, fmt.Errorf("network: publishing %s: %w: %w", p, err, errdefs.ErrFailedPrecondition)
	}
	px := &proxy{ln: ln, target: netip.AddrPortFrom(addr, p.ContainerPort), log: m.log,
		slots: make(chan struct{}, proxyMaxConns), conns: map[net.Conn]struct{}{}}
	px.wg.Add(1)
	go px.serve()
	return px, nil
}

func (px *proxy) serve() {
	defer px.wg.Done()
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return // closed
		}
		select {
		case px.slots <- struct{}{}:
		default:
			c.Close() // over the limit
			continue
		}
		if !px.track(c) {
			c.Close()
			return
		}
		px.wg.Add(1)
		go px.forward(c)
	}
}

func (px *proxy) track(c net.Conn) bool {
	px.mu.Lock()
	defer px.mu.Unlock()
	if px.closed {
		return false
	}
	px.conns[c] = struct{}{}
	return true
}

func (px *proxy) untrack(c net.Conn) {
	px.mu.Lock()
	delete(px.conns, c)
	px.mu.Unlock()
	c.Close()
}

func (px *proxy) forward(c net.Conn) {
	defer px.wg.Done()
	defer func() { <-px.slots }()
	defer px.untrack(c)
	ctx, cancel := context.WithTimeout(context.Background(), proxyDialTimeout)
	defer cancel()
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", px.target.String())
	if err != nil {
		px.log.Debug("published port: dialling the container", zap.Stringer("target", px.target), zap.Error(err))
		return
	}
	if !px.track(up) {
		up.Close()
		return
	}
	defer px.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// close stops listening and cuts every forwarded connection.
func (px *proxy) close() {
	px.mu.Lock()
	px.closed = true
	for c := range px.conns {
		c.Close()
	}
	px.mu.Unlock()
	px.ln.Close()
	px.wg.Wait()
}
