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
	// Egress (--egress, --allow-domain, --allow-cidr, --allow-port)
	// replaces the whole egress policy of a container on the egress
	// network.
	Egress client.EgressFlags
}

func newUpdateCommand(g *globals) *cobra.Command {
	var o UpdateOptions
	cmd := &cobra.Command{
		Use:   "update [--memory SIZE] [--cpus N] [--pids-limit N] [--egress MODE] [--allow-domain D] ID...",
		Short: "Change containers' resource limits or egress policy",
		Long: `Change the resource limits of created, running or paused containers and print
the names or ids as given. Limits not given stay as they are; limits above the
operator's ceilings ([limits] max_memory, max_cpus) are refused and change
nothing. The egress flags replace the whole egress policy of running containers
on the egress network, at once and without a restart, within the operator's
[network] ceilings.`,
		Example: `  nucleusctl update --memory 512m web
  nucleusctl update --cpus 0.5 --pids-limit 128 web worker
  nucleusctl update --allow-domain pypi.org,*.pythonhosted.org --allow-port 443 job`,
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
			limits := res.MemoryBytes != 0 || res.Cpus != 0 || res.Pids != 0
			if !limits && !o.Egress.Set() {
				return errors.New("nothing to update: give --memory, --cpus, --pids-limit or egress flags (--egress, --allow-domain, --allow-cidr, --allow-port)")
			}
			var pol *nucleusv1.EgressPolicy
			if o.Egress.Set() {
				var err error
				if pol, err = o.Egress.Policy(); err != nil {
					return err
				}
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error {
					if limits {
						if _, err := c.Update(ctx, id, res); err != nil {
							return err
						}
					}
					if pol != nil {
						_, err := c.UpdateNetwork(ctx, id, pol)
						return err
					}
					return nil
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Memory, "memory", "", "memory limit, e.g. 256m or 1.5g")
	f.Float64Var(&o.CPUs, "cpus", 0, "CPU limit in CPUs, e.g. 1.5")
	f.Int64Var(&o.PidsLimit, "pids-limit", 0, "maximum number of tasks (nucleusd fixes it at create and refuses to change it)")
	f.StringVar(&o.Egress.Mode, "egress", "", "new egress mode: none, all or allowlist (default allowlist with --allow-domain or --allow-cidr)")
	f.StringArrayVar(&o.Egress.Domains, "allow-domain", nil, "domains allowed, e.g. pypi.org,*.pythonhosted.org (repeatable; replaces the old list)")
	f.StringArrayVar(&o.Egress.CIDRs, "allow-cidr", nil, "address ranges allowed (repeatable; replaces the old list)")
	f.StringArrayVar(&o.Egress.Ports, "allow-port", nil, "destination ports allowed (repeatable; default any)")
	return cmd
}
