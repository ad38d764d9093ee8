package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

// KillOptions are the flags of `nucleusctl kill`.
type KillOptions struct {
	Signal string // -s: name or number, default KILL
}

func newKillCommand(g *globals) *cobra.Command {
	var o KillOptions
	cmd := &cobra.Command{
		Use:   "kill [-s SIGNAL] ID...",
		Short: "Send a signal to containers",
		Long: `Send a signal (default SIGKILL) to each container's process and print the
names or ids as given. The exit shows in wait, ps and events.`,
		Example: `  nucleusctl kill web
  nucleusctl kill -s SIGHUP web
  nucleusctl kill -s 15 web worker`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := client.ParseSignal(o.Signal)
			if err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error { return c.Kill(ctx, id, sig) })
			})
		},
	}
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "KILL", "signal: a name (SIGTERM, TERM) or a number (15)")
	return cmd
}

// eachID runs fn for every id, printing the id on success and the error on
// failure; any failure makes the exit code 125. Once ctx is done (--timeout)
// it stops with ctx's error.
func (g *globals) eachID(ctx context.Context, ids []string, fn func(id string) error) error {
	f := failures{g: g}
	for _, id := range ids {
		if err := fn(id); err != nil {
			if g.expired(ctx) {
				return err
			}
			f.add(err)
			continue
		}
		fmt.Fprintln(g.env.Stdout, id)
	}
	return f.err()
}
