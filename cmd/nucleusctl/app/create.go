package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

func newCreateCommand(g *globals) *cobra.Command {
	var o ContainerOptions
	cmd := &cobra.Command{
		Use:   "create [flags] IMAGE [COMMAND [ARG...]] | create [flags] [--] /CMD [ARG...]",
		Short: "Create a container without starting it, and print its id",
		Long: `Create a container from IMAGE, or running /CMD on the default root, in its
own gVisor sandbox, without starting it, and print its id; start it with
'nucleusctl start'. The arguments and flags are run's.`,
		Example: `  id=$(nucleusctl create --name job -e MODE=batch -- /usr/bin/sh -c 'echo $MODE')
  nucleusctl start -a "$id"`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.create(ctx, c, o, args) })
		},
	}
	cmd.Flags().SetInterspersed(false)
	addContainerFlags(cmd.Flags(), &o)
	return cmd
}

// create creates the container and prints its id.
func (g *globals) create(ctx context.Context, c *client.Client, o ContainerOptions, args []string) error {
	spec, err := o.Spec(args, g.env.LookupEnv)
	if err != nil {
		return err
	}
	ctr, err := c.Create(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Fprintln(g.env.Stdout, ctr.GetId())
	return nil
}
