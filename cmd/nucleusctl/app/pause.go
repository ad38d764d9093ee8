package app

import (
	"context"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

func newPauseCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:               "pause ID...",
		Short:             "Freeze every process of running containers",
		Long:              `Freeze every process of each running container and print the names or ids as given.`,
		Example:           `  nucleusctl pause web`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error { _, err := c.Pause(ctx, id); return err })
			})
		},
	}
}
