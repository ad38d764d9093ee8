package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

// StartOptions are the flags of `nucleusctl start`.
type StartOptions struct {
	// Attach streams the output and exits with the container's code.
	Attach bool
}

func newStartCommand(g *globals) *cobra.Command {
	var o StartOptions
	cmd := &cobra.Command{
		Use:   "start [-a] ID...",
		Short: "Start created containers",
		Long: `Start created containers and print their names or ids as given.

With -a (one container), stream its output until it exits and exit with its
code, as run does; Ctrl-C is forwarded as SIGINT and a second Ctrl-C stops
waiting (exit 130). Stdin cannot be attached.`,
		Example: `  nucleusctl start job
  nucleusctl start -a job; echo "exit code $?"`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Attach && len(args) > 1 {
				return fmt.Errorf("start -a takes one container, got %d", len(args))
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.start(ctx, c, o, args) })
		},
	}
	cmd.Flags().BoolVarP(&o.Attach, "attach", "a", false, "stream the output and exit with the container's exit code")
	return cmd
}

// start starts each container, or one attached.
func (g *globals) start(ctx context.Context, c *client.Client, o StartOptions, ids []string) error {
	if o.Attach {
		ctx, stopWaiting := context.WithCancel(ctx)
		defer stopWaiting()
		fwd := g.forwardSignals(stopWaiting)
		defer fwd.Close()
		st, err := c.StartAttached(ctx, ids[0], client.AttachOptions{Stdout: g.env.Stdout, Stderr: g.env.Stderr, Signals: fwd.Signals})
		if fwd.StoppedWaiting() {
			return stoppedWaiting(ids[0])
		}
		if err != nil {
			return err
		}
		return exitStatus("container "+ids[0], st)
	}
	f := failures{g: g}
	for _, id := range ids {
		if _, err := c.Start(ctx, id); err != nil {
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
