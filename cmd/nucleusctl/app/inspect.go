package app

import (
	"context"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

func newInspectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect ID...",
		Short: "Print containers as a JSON array",
		Long: `Print the named containers as one JSON array of the API's Container messages
(proto field names; secret data is never returned). Containers that cannot be
found are reported on stderr and make the exit code 125; the others are still
printed.`,
		Example: `  nucleusctl inspect web
  nucleusctl inspect web | jq -r '.[0].state'`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.inspect(ctx, c, args) })
		},
	}
}

// inspect prints the containers it finds.
func (g *globals) inspect(ctx context.Context, c *client.Client, ids []string) error {
	f := failures{g: g}
	ctrs := []*nucleusv1.Container{}
	for _, id := range ids {
		ctr, err := c.Get(ctx, id)
		if err != nil {
			if g.expired(ctx) {
				return err
			}
			f.add(err)
			continue
		}
		ctrs = append(ctrs, ctr)
	}
	if err := writeJSONArray(g.env.Stdout, ctrs); err != nil {
		return err
	}
	return f.err()
}
