package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// call connects to nucleusd and runs fn under the global --timeout.
func (g *globals) call(cmd *cobra.Command, fn func(context.Context, *client.Client) error) error {
	ctx := cmd.Context()
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	c, err := g.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	err = fn(ctx, c)
	if err != nil && g.timeout > 0 && timedOut(ctx) {
		return errdefs.DeadlineExceeded("timed out after %s (--timeout)", g.timeout)
	}
	return err
}

// expired reports whether ctx is done or our --timeout is (nearly) up, so
// that loops over several ids stop instead of failing each one.
func (g *globals) expired(ctx context.Context) bool {
	return ctx.Err() != nil || (g.timeout > 0 && timedOut(ctx))
}

// timedOut reports whether ctx's deadline has passed or is about to: the
// server learns the deadline rounded down (grpc-timeout) and may end the
// call, as DEADLINE_EXCEEDED or a cancelled stream, just before ours fires.
func timedOut(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && (errors.Is(ctx.Err(), context.DeadlineExceeded) || time.Until(dl) < 20*time.Millisecond)
}

// dial makes a client from the global flags; TLS applies to tcp:// only.
func (g *globals) dial(ctx context.Context) (*client.Client, error) {
	var opts []client.Option
	if strings.HasPrefix(g.address, "tcp://") {
		opts = append(opts, client.WithTLS(g.tlsCA, g.tlsCert, g.tlsKey))
	}
	return client.New(ctx, g.address, opts...)
}

// exactArgs and minArgs check positional arguments with docker's wording.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%q requires exactly %d %s (see '%s --help')", cmd.CommandPath(), n, plural(n), cmd.CommandPath())
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return fmt.Errorf("%q requires at least %d %s (see '%s --help')", cmd.CommandPath(), n, plural(n), cmd.CommandPath())
		}
		return nil
	}
}

func plural(n int) string {
	if n == 1 {
		return "argument"
	}
	return "arguments"
}
