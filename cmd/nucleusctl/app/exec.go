package app

import (
	"context"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

// ExecOptions are the flags of `nucleusctl exec`.
type ExecOptions struct {
	Interactive bool     // -i: forward stdin
	Env         []string // -e K=V or K (from our environment), repeatable
	User        string   // -u UID[:GID]
	Workdir     string   // -w DIR
	TTY         bool     // -t: run the process on a terminal
}

func newExecCommand(g *globals) *cobra.Command {
	var o ExecOptions
	cmd := &cobra.Command{
		Use:   "exec [flags] ID [--] CMD [ARG...]",
		Short: "Run a command in a running container",
		Long: `Run an extra process in a running container, streaming its output, and exit
with its exit code (126: could not be run, 127: not found; 125: nucleusd or
nucleusctl failed). Ctrl-C is forwarded as SIGINT; a second Ctrl-C stops
waiting (exit 130), and nucleusd then ends the process, as it does for any exec
whose client goes away.`,
		Example: `  nucleusctl exec web -- /usr/bin/ps aux
  nucleusctl exec -e DEBUG=1 -u 1000 -w /tmp web /usr/bin/env
  echo 'print(1)' | nucleusctl exec -i web -- /usr/bin/python3 -
  nucleusctl exec -it web /bin/sh`,
		Args:              minArgs(2),
		ValidArgsFunction: g.completeFirstContainer,
		RunE: func(cmd *cobra.Command, args []string) error {
			argv := args[1:]
			if argv[0] == "--" {
				argv = argv[1:]
			}
			if len(argv) == 0 {
				return minArgs(2)(cmd, nil)
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.exec(ctx, c, o, args[0], argv) })
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().BoolVarP(&o.Interactive, "interactive", "i", false, "forward stdin to the process")
	cmd.Flags().StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable K=V, or pass K from this environment (repeatable)")
	cmd.Flags().StringVarP(&o.User, "user", "u", "", "UID[:GID] to run as, numeric only (default: the container's)")
	cmd.Flags().StringVarP(&o.Workdir, "workdir", "w", "", "working directory (default: the container's)")
	cmd.Flags().BoolVarP(&o.TTY, "tty", "t", false, "run the process on a terminal; with -i and a local terminal, it is put in raw mode (keys, Ctrl-C included, go to the process) and restored at the end")
	return cmd
}

// exec runs argv in container id and returns its exit.
func (g *globals) exec(ctx context.Context, c *client.Client, o ExecOptions, id string, argv []string) error {
	env, err := client.ParseEnv(o.Env, g.env.LookupEnv)
	if err != nil {
		return err
	}
	opts := client.ExecOptions{ID: id, Args: argv, Env: lastWins(env), Cwd: o.Workdir, Stdout: g.env.Stdout, Stderr: g.env.Stderr}
	if o.User != "" {
		if opts.User, err = client.ParseUser(o.User); err != nil {
			return err
		}
	}
	if o.Interactive {
		opts.Stdin = g.env.Stdin
	}
	ctx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	if o.TTY {
		opts.TTY, opts.Stderr = true, nil
		if o.Interactive {
			lt, err := g.openTerminal(ctx, g.env.Stdin)
			if err != nil {
				return err
			}
			defer lt.restore()
			opts.TerminalSize, opts.Resize = lt.size, lt.resize
		}
	}
	fwd := g.forwardSignals(stopWaiting)
	defer fwd.Close()
	opts.Signals = fwd.Signals
	st, err := c.ExecStatus(ctx, opts)
	if fwd.StoppedWaiting() {
		return &exitError{code: ExitStoppedWaiting, msg: "stopped waiting; nucleusd ends the exec'd process"}
	}
	if err != nil {
		return err
	}
	return exitStatus("exec in "+id, st)
}
