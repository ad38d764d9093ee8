// Package app is nucleusd's command line: flags, configuration and
// logging, then the daemon's run loop.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/internal/version"
)

// SuperviseCommand is the hidden argument that runs nucleusd as a
// container's supervisor.
const SuperviseCommand = "supervise"

// SupervisorExecutable is the dedicated supervisor (cmd/nucleus-supervisor)
// nucleusd looks for next to itself.
const SupervisorExecutable = "nucleus-supervisor"

// Flags are nucleusd's command-line flags.
type Flags struct {
	ConfigPath string
	RootDir    string
	StateDir   string
	Address    string
	LogLevel   string
}

// Run executes nucleusd with args (os.Args) and returns the exit code.
func Run(args []string) int { return run(args, os.Stdout, os.Stderr) }

// run is Run with its output streams given (tests).
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args[1:])
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "nucleusd: %v\n", err)
		return 1
	}
	return 0
}

func newRootCommand() *cobra.Command {
	var f Flags
	root := &cobra.Command{
		Use:           "nucleusd",
		Short:         "The Nucleus daemon: runs untrusted workloads in gVisor sandboxes",
		Version:       version.Version + " (" + version.Revision + ")",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		Example: `  # run with the default config and directories (as root)
  nucleusd
  # a private instance for a test
  nucleusd --config ./nucleusd.toml --root /tmp/n/root --state /tmp/n/state`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), f, cmd.Flags().Changed("config"))
		},
	}
	fl := root.PersistentFlags()
	fl.StringVar(&f.ConfigPath, "config", envOr("NUCLEUS_CONFIG", config.DefaultPath), "config file (TOML); a missing default file means built-in defaults")
	fl.StringVar(&f.RootDir, "root", "/var/lib/nucleus", "persistent state: store, bundles, logs (created 0700)")
	fl.StringVar(&f.StateDir, "state", "/run/nucleus", "runtime state: socket, runsc state, supervisors (created 0711)")
	fl.StringVar(&f.Address, "address", "", "unix socket path (default: [api] socket, else <state>/nucleusd.sock)")
	fl.StringVar(&f.LogLevel, "log-level", "", "debug, info, warn or error (default: [logging] level)")
	root.AddCommand(newConfigCommand(&f))
	root.SetContext(context.Background())
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// loadConfig reads the config; a missing file at the default path means
// the built-in defaults, a missing file that was asked for is an error.
func loadConfig(path string, explicit bool) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err == nil {
		return cfg, nil
	}
	if !explicit && os.Getenv("NUCLEUS_CONFIG") == "" && errors.Is(err, os.ErrNotExist) {
		return config.Default(), nil
	}
	return nil, err
}

func newConfigCommand(f *Flags) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Print the default or the effective configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "default",
		Short: "Print the default configuration, every key documented",
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), config.Reference())
			return err
		},
	}, &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration file, hook files included",
		Long: `Load and validate the configuration file, then validate every configured hook
on disk exactly as nucleusd does when it starts (owner, mode and symlinks of the
file and of every directory above it). Exits non-zero with the reason when
anything would keep nucleusd from starting.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := strings.TrimSpace(f.ConfigPath)
			cfg, err := loadConfig(f.ConfigPath, cmd.Flags().Changed("config"))
			if err != nil {
				return err
			}
			if _, err := core.NewHooks(cfg); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
			return err
		},
	})
	return cmd
}
