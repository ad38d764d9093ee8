package nettest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netns"
)

// InNetns runs fn on an OS thread that has entered the namespace pinned at
// path. Sockets fn creates belong to that namespace for their whole life.
// The thread is never returned to the runtime, so no other goroutine ever
// runs in the namespace.
func InNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- fmt.Errorf("namespace %s: %w", path, err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("entering %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Dial opens a TCP connection from inside the namespace at path.
func Dial(path string, to netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := InNetns(path, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", to.String(), timeout)
		return err
	})
	return c, err
}

// HTTPGet fetches http://to/ from inside the namespace and returns the body.
func HTTPGet(path string, to netip.AddrPort, timeout time.Duration) (string, error) {
	c, err := Dial(path, to, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return c, nil }}
	client := &http.Client{Transport: tr, Timeout: timeout}
	resp, err := client.Get("http://" + to.String() + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b), err
}

// Exchange sends one query of type qtype for name to server from inside
// the namespace (path "" means the current namespace).
func Exchange(path string, server netip.AddrPort, name string, qtype uint16, timeout time.Duration) (*dns.Msg, error) {
	return ExchangeOver(path, "udp", server, name, qtype, timeout)
}

// ExchangeOver is Exchange over proto, "udp" or "tcp".
func ExchangeOver(path, proto string, server netip.AddrPort, name string, qtype uint16, timeout time.Duration) (*dns.Msg, error) {
	var resp *dns.Msg
	ask := func() error {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), qtype)
		var err error
		resp, _, err = (&dns.Client{Net: proto, Timeout: timeout}).Exchange(q, server.String())
		return err
	}
	if path == "" {
		return resp, ask()
	}
	return resp, InNetns(path, ask)
}

// Lookup asks server for name's A records from inside the namespace and
// returns the answer's rcode and addresses.
func Lookup(path string, server netip.AddrPort, name string, timeout time.Duration) (int, []netip.Addr, error) {
	resp, err := Exchange(path, server, name, dns.TypeA, timeout)
	if err != nil {
		return 0, nil, err
	}
	var addrs []netip.Addr
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
				addrs = append(addrs, ip)
			}
		}
	}
	return resp.Rcode, addrs, nil
}

// SendUDP sends one datagram from inside the namespace, from src (the
// zero Addr lets the kernel choose) to to.
func SendUDP(path string, src netip.Addr, to netip.AddrPort, payload []byte) error {
	return InNetns(path, func() error {
		var laddr *net.UDPAddr
		if src.IsValid() {
			laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
		}
		c, err := net.DialUDP("udp4", laddr, net.UDPAddrFromAddrPort(to))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(payload)
		return err
	})
}
