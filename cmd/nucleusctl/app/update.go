package app

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// UpdateOptions are the flags of `nucleusctl update`; unset ones stay.
type UpdateOptions struct {
	Memory    string  // --memory 256m
	CPUs      float64 // --cpus 1.5
	PidsLimit int64   // --pids-limit N
}

func newUpdateCommand(g *globals) *cobra.Command {
	var o UpdateOptions
	cmd := &cobra.Command{
		Use:   "update [--memory SIZE] [--cpus N] [--pids-limit N] ID...",
		Short: "Change containers' resource limits",
		Long: `Change the resource limits of created, running or paused containers and print
the names or ids as given. Limits not given stay as they are; limits above the
operator's ceilings ([limits] max_memory, max_cpus) are refused and change
nothing.`,
		Example: `  nucleusctl update --memory 512m web
  nucleusctl update --cpus 0.5 --pids-limit 128 web worker`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			res := &nucleusv1.Resources{Cpus: o.CPUs, Pids: o.PidsLimit}
			if o.Memory != "" {
				n, err := client.ParseSize(o.Memory)
				if err != nil {
					return err
				}
				res.MemoryBytes = n
			}
			if res.MemoryBytes == 0 && res.Cpus == 0 && res.Pids == 0 {
				return errors.New("nothing to update: give --memory, --cpus or --pids-limit")
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error { _, err := c.Update(ctx, id, res); return err })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Memory, "memory", "", "memory limit, e.g. 256m or 1.5g")
	f.Float64Var(&o.CPUs, "cpus", 0, "CPU limit in CPUs, e.g. 1.5")
	f.Int64Var(&o.PidsLimit, "pids-limit", 0, "maximum number of tasks (nucleusd fixes it at create and refuses to change it)")
	return cmd
}
