package client

import (
	"context"
	"fmt"
	"io"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// AttachOptions are the streams of StartAttached.
type AttachOptions struct {
	// Stdout and Stderr receive the container's output; nil discards it.
	Stdout, Stderr io.Writer
	// Signals carries signal numbers to send to the container (with Kill).
	Signals <-chan uint32
}

// StartAttached starts a created container, follows its output until it
// exits and returns how it ended. The API has no attach call, so this is
// Start, then Logs with follow, then Wait; stdin cannot be forwarded.
func (c *Client) StartAttached(ctx context.Context, id string, opts AttachOptions) (*nucleusv1.ExitStatus, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctr, err := c.Start(ctx, id)
	if err != nil {
		return nil, err
	}
	id = ctr.GetId()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig, ok := <-opts.Signals:
				if !ok {
					return
				}
				_ = c.Kill(ctx, id, sig) // best effort: the process may be gone
			}
		}
	}()
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	err = c.Logs(ctx, &nucleusv1.LogsRequest{Id: id, Follow: true}, func(e *nucleusv1.LogEntry) error {
		w := stdout
		if e.GetStream() == nucleusv1.LogStream_LOG_STREAM_STDERR {
			w = stderr
		}
		if _, err := w.Write(EntryOutput(e)); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp, err := c.Wait(ctx, id)
	if err != nil {
		return nil, err
	}
	return resp.GetExit(), nil
}
