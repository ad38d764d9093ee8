package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

// RunOptions are the flags of `nucleusctl run`: the container flags plus
// -d.
type RunOptions struct {
	ContainerOptions
	// Detach prints the id once started instead of attaching.
	Detach bool
	// DetachKeys end an -it session, leaving the container running.
	DetachKeys    string
	detachKeysSet bool
}

func newRunCommand(g *globals) *cobra.Command {
	var o RunOptions
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]] | run [flags] [--] /CMD [ARG...]",
		Short: "Create and start a container, streaming its output",
		Long: `Create and start a container, in its own gVisor sandbox, from IMAGE (pulled
when missing, --pull) as docker runs it: COMMAND replaces the image's CMD,
--entrypoint its ENTRYPOINT ('' for none), -e is merged over its ENV, -w and
-u (names resolved in the image) override its WORKDIR and USER; the root is
the image read-only under a writable layer of --disk inside the sandbox.
A first argument that starts with / (or any with --rootfs) is a command run
on the default root as before: the host's /bin, /usr, ... read-only.

Attached (the default), stdout and stderr stream live and nucleusctl exits with
the container's exit code (126: could not be run, 127: not found; 125: nucleusd
or nucleusctl failed). Ctrl-C is forwarded to the container as SIGINT (SIGTERM
is forwarded too); a second Ctrl-C stops waiting, prints the container's id and
exits 130, leaving the container running. -i forwards stdin until its end.

With -d, nucleusctl prints the container's id once it has started.

With -t the process runs on a terminal that the container's supervisor keeps
(all output arrives as stdout, and is logged); -it puts the local terminal in
raw mode (Ctrl-C goes to the container as a key) and restores it however run
ends. Ctrl-P Ctrl-Q (--detach-keys, env NUCLEUS_DETACH_KEYS) detaches and
leaves the container running: nucleusctl attach gets back in. -dit starts it
detached, to attach later.

--timeout bounds the container's runtime; without it nucleusd's default
applies, and --timeout 0 (or none) asks for no timeout, which nucleusd refuses
when the operator set [limits] max_timeout. Memory, CPUs, pids, tmpfs sizes
and the timeout above the operator's ceilings are refused with the ceiling
named.`,
		Example: `  nucleusctl run --rm busybox echo hello
  nucleusctl run --rm --entrypoint '' -u nobody --disk 256m app:v1 /bin/sh -c 'id'
  nucleusctl run --rm /bin/echo hello
  nucleusctl run -d --name worker --memory 256m --cpus 1.5 --pids-limit 64 -- /usr/bin/sleep 300
  echo data | nucleusctl run -i --rm -- /usr/bin/wc -c
  nucleusctl run -it --name dev -- /bin/sh
  nucleusctl run -dit --name dev -- /bin/sh && nucleusctl attach dev
  nucleusctl run --rm -v /srv/data:/data:ro --tmpfs /tmp:size=64m -e MODE=batch --env-file ./job.env \
      --secret token=./token.txt --timeout 30s -u 1000:1000 -w /data -- /usr/bin/python3 job.py`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.detachKeysSet = cmd.Flags().Changed("detach-keys")
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.runContainer(ctx, c, o, args) })
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().BoolVarP(&o.Detach, "detach", "d", false, "start in the background and print the container's id")
	addContainerFlags(cmd.Flags(), &o.ContainerOptions)
	cmd.Flags().StringVar(&o.DetachKeys, "detach-keys", "", "keys that detach from a -it container, docker's syntax (default: env NUCLEUS_DETACH_KEYS, else ctrl-p,ctrl-q; \"\": none)")
	return cmd
}

// runContainer runs args as o describes, detached or attached.
func (g *globals) runContainer(ctx context.Context, c *client.Client, o RunOptions, args []string) error {
	spec, err := o.Spec(args, g.env.LookupEnv)
	if err != nil {
		return err
	}
	if o.TTY {
		spec.TerminalSize = (&localTerminal{fd: stdinFd(g.env.Stdin)}).currentSize()
	}
	if o.Detach {
		ctr, err := c.RunDetached(ctx, spec)
		if err != nil {
			return err
		}
		fmt.Fprintln(g.env.Stdout, ctr.GetId())
		return nil
	}
	ctx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	fwd := g.forwardSignals(stopWaiting)
	defer fwd.Close()
	opts := client.RunOptions{Stdout: g.env.Stdout, Stderr: g.env.Stderr, Signals: fwd.Signals}
	if o.Interactive {
		opts.Stdin = g.env.Stdin
	}
	var session *ttySession
	if o.TTY && o.Interactive {
		keys, err := g.detachKeys(o.DetachKeys, o.detachKeysSet)
		if err != nil {
			return err
		}
		if session, err = g.openTTYSession(ctx, stopWaiting, keys, true); err != nil {
			return err
		}
		defer session.close()
		opts.Stdin, opts.Resize = session.stdin, session.resizes()
		if ts := session.size(); ts != nil {
			spec.TerminalSize = ts
		}
	}
	st, id, err := c.Run(ctx, spec, opts)
	if session != nil && session.detached.Load() && id != "" {
		session.close()
		return g.detachedFrom(id)
	}
	if fwd.StoppedWaiting() {
		return stoppedWaiting(id)
	}
	if err != nil {
		return err
	}
	what := "container"
	if id != "" { // nucleusd sends no container when the command cannot start
		what += " " + shortID(id)
	}
	return exitStatus(what, st)
}

// stoppedWaiting is the exit after a second Ctrl-C.
func stoppedWaiting(id string) error {
	if id == "" {
		return &exitError{code: ExitStoppedWaiting, msg: "stopped waiting"}
	}
	return &exitError{code: ExitStoppedWaiting, msg: fmt.Sprintf("stopped waiting; container %s keeps running", id)}
}
