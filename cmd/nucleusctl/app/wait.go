package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

func newWaitCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "wait ID...",
		Short: "Wait for containers to exit and print their exit codes",
		Long: `Block until each container has exited and print its exit code, one per line,
in the order given. nucleusctl itself exits 0 unless a container could not be
waited for (125).`,
		Example: `  nucleusctl wait job
  code=$(nucleusctl wait job) && echo "job exited with $code"`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				f := failures{g: g}
				for _, id := range args {
					resp, err := c.Wait(ctx, id)
					if err != nil {
						if g.expired(ctx) {
							return err
						}
						f.add(err)
						continue
					}
					if resp.GetExit() == nil {
						// Never print a code nucleusd did not give.
						f.add(fmt.Errorf("container %s: nucleusd answered without an exit status", id))
						continue
					}
					fmt.Fprintln(g.env.Stdout, resp.GetExit().GetExitCode())
				}
				return f.err()
			})
		},
	}
}
