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
	// Interactive (with Attach) also attaches stdin: the container's
	// terminal (create -t) or open stdin (create -i).
	Interactive   bool
	DetachKeys    string
	detachKeysSet bool
}

func newStartCommand(g *globals) *cobra.Command {
	var o StartOptions
	cmd := &cobra.Command{
		Use:   "start [-a] ID...",
		Short: "Start created containers",
		Long: `Start created containers and print their names or ids as given.

With -a (one container), stream its output until it exits and exit with its
code, as run does; Ctrl-C is forwarded as SIGINT and a second Ctrl-C stops
waiting (exit 130). With -ai the container is started and then attached as
nucleusctl attach does (stdin, raw mode for a terminal, detach keys); output
written before the attachment is in logs.`,
		Example: `  nucleusctl start job
  nucleusctl start -a job; echo "exit code $?"
  nucleusctl create -it --name dev /bin/sh && nucleusctl start -ai dev`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Interactive && !o.Attach {
				return fmt.Errorf("start -i needs -a")
			}
			if o.Attach && len(args) > 1 {
				return fmt.Errorf("start -a takes one container, got %d", len(args))
			}
			o.detachKeysSet = cmd.Flags().Changed("detach-keys")
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.start(ctx, c, o, args) })
		},
	}
	cmd.Flags().BoolVarP(&o.Attach, "attach", "a", false, "stream the output and exit with the container's exit code")
	cmd.Flags().BoolVarP(&o.Interactive, "interactive", "i", false, "with -a, attach stdin too (the container's terminal or open stdin)")
	cmd.Flags().StringVar(&o.DetachKeys, "detach-keys", "", "with -ai, keys that detach, docker's syntax (default: env NUCLEUS_DETACH_KEYS, else ctrl-p,ctrl-q)")
	return cmd
}

// start starts each container, or one attached.
func (g *globals) start(ctx context.Context, c *client.Client, o StartOptions, ids []string) error {
	if o.Attach && o.Interactive {
		if _, err := c.Start(ctx, ids[0]); err != nil {
			return err
		}
		return g.attach(ctx, c, AttachCmdOptions{DetachKeys: o.DetachKeys, detachKeysSet: o.detachKeysSet}, ids[0])
	}
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
