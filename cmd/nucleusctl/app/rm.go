package app

import (
	"context"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

// RmOptions are the flags of `nucleusctl rm`.
type RmOptions struct {
	Force bool // -f: kill a running or paused container first
}

func newRmCommand(g *globals) *cobra.Command {
	var o RmOptions
	cmd := &cobra.Command{
		Use:     "rm [-f] ID...",
		Aliases: []string{"remove"},
		Short:   "Remove containers",
		Long: `Remove exited or created containers (sandbox, bundle, logs and record) and
print the names or ids as given; -f kills running or paused ones first.`,
		Example: `  nucleusctl rm job
  nucleusctl rm -f web worker
  nucleusctl ps -aq --filter status=exited | xargs -r nucleusctl rm`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error { _, err := c.Delete(ctx, id, o.Force); return err })
			})
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "kill running or paused containers first")
	return cmd
}
