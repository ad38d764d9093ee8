package client

import (
	"bytes"
	"context"
	"errors"
	"io"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// receiver is the receiving half of a server stream.
type receiver[T any] interface{ Recv() (*T, error) }

// drain calls emit for every message of stream until it ends (nil), emit
// fails (emit's error) or the stream fails (its errdefs error).
func drain[T any](c *Client, stream receiver[T], emit func(*T) error) error {
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return c.fromGRPC(err)
		}
		if err := emit(msg); err != nil {
			return err
		}
	}
}

// Logs streams the container's recorded output, one entry at a time, until
// the history ends (or, with req.follow, the container exits), ctx is
// cancelled or emit returns an error, which Logs returns.
func (c *Client) Logs(ctx context.Context, req *nucleusv1.LogsRequest, emit func(*nucleusv1.LogEntry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.Logs(ctx, req)
	if err != nil {
		return c.fromGRPC(err)
	}
	return drain(c, stream, func(resp *nucleusv1.LogsResponse) error {
		for _, e := range resp.GetEntries() {
			if err := emit(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// EntryOutput returns the bytes an entry stands for in the container's
// output: its content, plus the newline that ended the line when the entry
// is complete (not partial) and its content does not already end with one.
// The API documents content as newline-included; today's nucleusd sends
// lines without it, and this reads both the same.
func EntryOutput(e *nucleusv1.LogEntry) []byte {
	b := e.GetContent()
	if e.GetPartial() || bytes.HasSuffix(b, []byte("\n")) {
		return b
	}
	return append(b[:len(b):len(b)], '\n')
}

// Stats calls emit with each batch of samples (one per container): once, or
// every interval when req.stream is set, until ctx is cancelled.
func (c *Client) Stats(ctx context.Context, req *nucleusv1.StatsRequest, emit func([]*nucleusv1.ContainerStats) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.Stats(ctx, req)
	if err != nil {
		return c.fromGRPC(err)
	}
	return drain(c, stream, func(resp *nucleusv1.StatsResponse) error { return emit(resp.GetStats()) })
}

// Events calls emit with each event (and its events_lost flag) until ctx is
// cancelled or emit returns an error.
func (c *Client) Events(ctx context.Context, req *nucleusv1.EventsRequest, emit func(*nucleusv1.EventsResponse) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.Events(ctx, req)
	if err != nil {
		return c.fromGRPC(err)
	}
	return drain(c, stream, emit)
}
