package server

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc/credentials"

	"nucleus.dev/nucleus/daemon/auth"
)

// limitedCreds counts each connection against its caller's connection
// limit as soon as the transport has identified the caller (SO_PEERCRED
// needs nothing from the client, so this is right after accept) and
// refuses one beyond it: grpc closes a connection whose handshake fails,
// before it costs an HTTP/2 transport.
type limitedCreds struct {
	credentials.TransportCredentials
	lim *limiter
}

// ServerHandshake implements credentials.TransportCredentials.
func (c limitedCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return nil, nil, err
	}
	caller, root := connCaller(info)
	release, err := c.lim.acquire(caller, root)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return &countedConn{Conn: conn, release: sync.OnceFunc(release)}, info, nil
}

// ClientHandshake implements credentials.TransportCredentials.
func (c limitedCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.TransportCredentials.ClientHandshake(ctx, authority, conn)
}

// Clone implements credentials.TransportCredentials.
func (c limitedCreds) Clone() credentials.TransportCredentials {
	return limitedCreds{TransportCredentials: c.TransportCredentials.Clone(), lim: c.lim}
}

// connCaller names the caller a handshake proved: its uid on the socket,
// its certificate's identity on TCP.
func connCaller(info credentials.AuthInfo) (caller string, root bool) {
	switch i := info.(type) {
	case auth.AuthInfo:
		return i.Identity.Principal(), i.Identity.UID == 0
	case credentials.TLSInfo:
		if certs := i.State.PeerCertificates; len(certs) > 0 {
			// The full identity (issuer and subject), as owners are
			// allocated: two certificates that share a common name do
			// not share a budget.
			return fmt.Sprintf("cert:%x", auth.CertKey(certs[0])), false
		}
	}
	return "unidentified", false
}

// countedConn gives its slot back when grpc closes it.
type countedConn struct {
	net.Conn
	release func()
}

func (c *countedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
