package client

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// LatestSeqHeader is the Events response header nucleusd sends once a
// subscription is registered: every event after that sequence will be
// delivered.
const LatestSeqHeader = "nucleus-latest-seq"

// Subscription is an Events stream the daemon has registered: what happens
// after Subscribe returns is delivered, so a caller can subscribe, then act,
// without a race.
type Subscription struct {
	// Latest is the sequence of the newest event committed when the
	// subscription was registered; every later event matching the request
	// is delivered.
	Latest uint64
	c      *Client
	stream grpc.ServerStreamingClient[nucleusv1.EventsResponse]
	cancel context.CancelFunc
}

// Subscribe opens an Events stream and waits for the daemon's confirmation
// that it is registered.
func (c *Client) Subscribe(ctx context.Context, req *nucleusv1.EventsRequest) (*Subscription, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.api.Events(ctx, req)
	if err != nil {
		cancel()
		return nil, c.fromGRPC(err)
	}
	md, err := stream.Header()
	if err != nil {
		cancel()
		return nil, c.fromGRPC(err)
	}
	s := &Subscription{c: c, stream: stream, cancel: cancel}
	v := md.Get(LatestSeqHeader)
	if len(v) == 0 {
		// An error status ends the stream without headers.
		if _, err := stream.Recv(); err != nil {
			cancel()
			return nil, c.fromGRPC(err)
		}
		cancel()
		return nil, errdefs.Unavailable("the daemon sent no %s header: it predates subscription headers", LatestSeqHeader)
	}
	if s.Latest, err = strconv.ParseUint(v[0], 10, 64); err != nil {
		cancel()
		return nil, fmt.Errorf("bad %s header %q: %w", LatestSeqHeader, v[0], err)
	}
	return s, nil
}

// Recv returns the next event.
func (s *Subscription) Recv() (*nucleusv1.EventsResponse, error) {
	resp, err := s.stream.Recv()
	if err != nil {
		return nil, s.c.fromGRPC(err)
	}
	return resp, nil
}

// Close ends the subscription.
func (s *Subscription) Close() { s.cancel() }
