package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/version"
)

// DefaultAddress is where nucleusd listens unless configured otherwise.
const DefaultAddress = "unix:///run/nucleus/nucleusd.sock"

// MaxRecvBytes is the largest message the client accepts: nucleusd's
// default api.max_recv_bytes, so that anything the daemon may accept (a
// container with a 4 MiB spec) it can also send back. List answers in
// pages far below it.
const MaxRecvBytes = 16 << 20

// Client is a connection to nucleusd. It is safe for concurrent use.
type Client struct {
	address string
	conn    *grpc.ClientConn
	api     nucleusv1.NucleusClient

	mu      sync.Mutex
	dialErr error // the last failed dial, for a readable "cannot connect" error
}

// Option configures New.
type Option func(*options) error

type options struct {
	tls      credentials.TransportCredentials
	dialOpts []grpc.DialOption
}

// WithDialOptions adds gRPC dial options (interceptors, message sizes, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) error {
		o.dialOpts = append(o.dialOpts, opts...)
		return nil
	}
}

// New connects to nucleusd at address: "unix:///path/to.sock" (or a bare
// absolute path), authorised by the kernel through SO_PEERCRED, or
// "tcp://host:port", which needs WithTLS. The connection is made lazily: an
// unreachable daemon shows as an errdefs.ErrUnavailable error from the first
// call ("cannot connect to nucleusd at ..."); ctx is only checked.
func New(ctx context.Context, address string, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	network, addr, err := parseAddress(address)
	if err != nil {
		return nil, err
	}
	c := &Client{address: address}
	creds := insecure.NewCredentials()
	authority := "localhost"
	if network == "tcp" {
		if o.tls == nil {
			return nil, errdefs.InvalidArgument("address %s: tcp needs mutual TLS (--tlscacert, --tlscert and --tlskey)", address)
		}
		creds, authority = o.tls, addr
	}
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		c.mu.Lock()
		c.dialErr = err
		c.mu.Unlock()
		return conn, err
	}
	dialOpts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvBytes)),
		grpc.WithContextDialer(dial),
		grpc.WithUserAgent("nucleus-client/" + version.Version),
	}, o.dialOpts...)
	conn, err := grpc.NewClient("passthrough:///"+authority, dialOpts...)
	if err != nil {
		return nil, errdefs.InvalidArgument("address %s: %v", address, err)
	}
	c.conn, c.api = conn, nucleusv1.NewNucleusClient(conn)
	return c, nil
}

// parseAddress splits "unix:///p", "/p" or "tcp://h:p" into a network and
// an address for net.Dial.
func parseAddress(address string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(address, "unix://"):
		network, addr = "unix", strings.TrimPrefix(address, "unix://")
	case strings.HasPrefix(address, "/"):
		network, addr = "unix", address
	case strings.HasPrefix(address, "tcp://"):
		network, addr = "tcp", strings.TrimPrefix(address, "tcp://")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", errdefs.InvalidArgument("address %q: want tcp://host:port", address)
		}
		return network, addr, nil
	default:
		return "", "", errdefs.InvalidArgument("address %q: want unix:///path/to.sock or tcp://host:port", address)
	}
	if !filepath.IsAbs(addr) {
		return "", "", errdefs.InvalidArgument("address %q: the socket path must be absolute", address)
	}
	return network, addr, nil
}

// Address returns the address the client was created with.
func (c *Client) Address() string { return c.address }

// API returns the raw generated client, for what the methods do not cover.
// Its errors are gRPC statuses; pass them through errdefs.FromGRPC.
func (c *Client) API() nucleusv1.NucleusClient { return c.api }

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// fromGRPC converts a gRPC error to its errdefs kind, replacing gRPC's
// transport wording with the dial error when the daemon cannot be reached.
func (c *Client) fromGRPC(err error) error {
	err = errdefs.FromGRPC(err)
	if err == nil || !errors.Is(err, errdefs.ErrUnavailable) {
		return err
	}
	c.mu.Lock()
	dialErr := c.dialErr
	c.mu.Unlock()
	if dialErr != nil {
		return errdefs.Unavailable("cannot connect to nucleusd at %s: %v (is nucleusd running?)", c.address, dialErr)
	}
	return err
}

// protocolError reports a stream that broke the API's message order.
func protocolError(format string, args ...any) error {
	return fmt.Errorf("nucleusd protocol error: %s: %w", fmt.Sprintf(format, args...), errdefs.ErrInternal)
}
