package app

import (
	"context"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

// AttachCmdOptions are the flags of `nucleusctl attach`.
type AttachCmdOptions struct {
	NoStdin       bool   // --no-stdin: output only
	DetachKeys    string // --detach-keys
	detachKeysSet bool
}

func newAttachCommand(g *globals) *cobra.Command {
	var o AttachCmdOptions
	cmd := &cobra.Command{
		Use:   "attach [flags] CONTAINER",
		Short: "Attach to a running container's terminal or stdin",
		Long: `Connect to a running container: its output from now on (earlier output is in
logs), and nucleusctl's stdin to the container's terminal (run -t) or stdin
(run -i). For a terminal, the local one is put in raw mode and restored at the
end, and its size follows the local one (the program in the container gets
SIGWINCH). Ctrl-P Ctrl-Q (--detach-keys, env NUCLEUS_DETACH_KEYS) detaches and
leaves the container running. One attachment at a time may write: a second
one is refused (use --no-stdin to watch). When the container exits, attach
exits with its code.`,
		Example: `  nucleusctl attach dev
  nucleusctl attach --no-stdin dev
  nucleusctl attach --detach-keys ctrl-x,x dev`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeFirstContainer,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return minArgs(1)(cmd, nil)
			}
			o.detachKeysSet = cmd.Flags().Changed("detach-keys")
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.attach(ctx, c, o, args[0]) })
		},
	}
	cmd.Flags().BoolVar(&o.NoStdin, "no-stdin", false, "do not send stdin (watch only)")
	cmd.Flags().StringVar(&o.DetachKeys, "detach-keys", "", "keys that detach, docker's syntax (default: env NUCLEUS_DETACH_KEYS, else ctrl-p,ctrl-q; \"\": none)")
	return cmd
}

// attach connects to container id until it exits or the user detaches.
func (g *globals) attach(ctx context.Context, c *client.Client, o AttachCmdOptions, id string) error {
	ctr, err := c.Get(ctx, id)
	if err != nil {
		return err
	}
	id = ctr.GetId()
	tty := ctr.GetSpec().GetTty()
	keys, err := g.detachKeys(o.DetachKeys, o.detachKeysSet)
	if err != nil {
		return err
	}
	ctx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	withStdin := !o.NoStdin && (tty || ctr.GetSpec().GetOpenStdin())
	session, err := g.openTTYSession(ctx, stopWaiting, keys, tty && withStdin)
	if err != nil {
		return err
	}
	defer session.close()
	fwd := g.forwardSignals(stopWaiting)
	defer fwd.Close()
	opts := client.AttachStreamOptions{Stdout: g.env.Stdout, Stderr: g.env.Stderr, Signals: fwd.Signals}
	if withStdin {
		opts.Stdin = session.stdin
	}
	if tty {
		opts.TerminalSize, opts.Resize = session.size(), session.resizes()
	}
	st, err := c.Attach(ctx, id, opts)
	if session.detached.Load() {
		session.close()
		return g.detachedFrom(id)
	}
	if fwd.StoppedWaiting() {
		return stoppedWaiting(id)
	}
	if err != nil {
		return err
	}
	return exitStatus("container "+shortID(id), st)
}
