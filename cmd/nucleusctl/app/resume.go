package app

import (
	"context"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

func newResumeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:               "resume ID...",
		Aliases:           []string{"unpause"},
		Short:             "Thaw paused containers",
		Long:              `Thaw each paused container and print the names or ids as given (docker's unpause).`,
		Example:           `  nucleusctl resume web`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error { _, err := c.Resume(ctx, id); return err })
			})
		},
	}
}
