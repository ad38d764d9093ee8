// Package app is the nucleusctl command line: one file per subcommand, each
// mapping its flags to a documented options struct and making one call into
// package client; output shapes and exit codes follow docker's.
package app

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/version"
)

// Run executes nucleusctl with os.Args-style args (args[0] is the program)
// against the process's real streams and returns the exit code.
func Run(ctx context.Context, args []string) int {
	return Execute(ctx, args[1:], OSEnv())
}

// Execute runs the command line args (without the program name) in env and
// returns the exit code: 0, the container's or exec's code, or 125 when
// nucleusctl or nucleusd failed.
func Execute(ctx context.Context, args []string, env Env) int {
	g := &globals{env: env}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	return g.report(root.ExecuteContext(ctx))
}

// globals are the flags every command takes, plus the environment.
type globals struct {
	env     Env
	address string
	timeout time.Duration
	tlsCA   string
	tlsCert string
	tlsKey  string
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "nucleusctl",
		Short: "Run and manage untrusted workloads in gVisor sandboxes",
		Long: `nucleusctl talks to nucleusd, which runs each container in its own gVisor
(runsc) sandbox. Commands, flags and output follow docker's where they exist.

Exit codes: 0 on success; for run, start -a and exec the container's (or
process's) own exit code, with 126 when the command cannot be run and 127 when
it is not found; 125 when nucleusctl or nucleusd fails (bad flag, daemon
unreachable, any API error); 130 when a second Ctrl-C stops waiting for an
attached container, which keeps running.

Containers are named by their full 32-character id, a unique prefix of it (at
least 4 characters, as ps shows 12) or their exact name.`,
		Example: `  nucleusctl run --rm echo hello
  nucleusctl run -d --name web --memory 256m -- /usr/bin/python3 -m http.server
  nucleusctl ps -a
  NUCLEUS_ADDRESS=unix:///tmp/nucleusd.sock nucleusctl info`,
		Version:           version.Version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&g.address, "address", g.env.getenv("NUCLEUS_ADDRESS", client.DefaultAddress),
		"nucleusd address: unix:///path/to.sock or tcp://host:port (env NUCLEUS_ADDRESS)")
	pf.DurationVar(&g.timeout, "timeout", 0,
		"deadline for the command's API calls, e.g. 10s; 0: none (run and create use --timeout for the container's max runtime instead)")
	pf.StringVar(&g.tlsCA, "tlscacert", g.env.getenv("NUCLEUS_TLS_CACERT", ""), "CA certificate that signed nucleusd's (tcp only; env NUCLEUS_TLS_CACERT)")
	pf.StringVar(&g.tlsCert, "tlscert", g.env.getenv("NUCLEUS_TLS_CERT", ""), "client certificate (tcp only; env NUCLEUS_TLS_CERT)")
	pf.StringVar(&g.tlsKey, "tlskey", g.env.getenv("NUCLEUS_TLS_KEY", ""), "client certificate's key (tcp only; env NUCLEUS_TLS_KEY)")
	root.AddCommand(
		newRunCommand(g), newCreateCommand(g), newStartCommand(g), newPsCommand(g),
		newInspectCommand(g), newLogsCommand(g), newExecCommand(g), newAttachCommand(g), newKillCommand(g),
		newStopCommand(g), newRmCommand(g), newWaitCommand(g), newStatsCommand(g),
		newEventsCommand(g), newPauseCommand(g), newResumeCommand(g), newUpdateCommand(g),
		newCpCommand(g), newFsCommand(g), newVersionCommand(g), newInfoCommand(g), newCompletionCommand(),
		newCheckpointCommand(g), newRestoreCommand(g), newSnapshotCommand(g),
		newPullCommand(g), newImagesCommand(g), newRmiCommand(g), newImageCommand(g),
	)
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Example = "  nucleusctl help run"
		}
	}
	return root
}
