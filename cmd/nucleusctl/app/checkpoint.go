package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
)

func newCheckpointCommand(g *globals) *cobra.Command {
	var o client.CheckpointOptions
	cmd := &cobra.Command{
		Use:   "checkpoint [--leave-running] CONTAINER SNAPSHOT",
		Short: "Save a running container's sandbox to a snapshot",
		Long: `Save a running container's whole sandbox (memory, processes, open files,
its /tmp) to a new snapshot named SNAPSHOT, and print the snapshot's id. The
container is stopped once saved ("pause to disk": its memory is freed) unless
--leave-running. With --leave-running the id is printed as soon as the
image is written and the daemon seals it (fsync, digests) in the background;
--sync waits for the seal. A restore always waits for it. Restore it with 'nucleusctl restore'. A snapshot holds the
sandbox's memory: only you (and root) can see, restore or remove it.`,
		Example: `  nucleusctl checkpoint --leave-running agent warm
  nucleusctl checkpoint agent paused-agent`,
		Args:              exactArgs(2),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[1]
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				snap, err := c.Checkpoint(ctx, args[0], o)
				if err != nil {
					return err
				}
				fmt.Fprintln(g.env.Stdout, snap.GetId())
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&o.LeaveRunning, "leave-running", false, "keep the container running after the checkpoint")
	cmd.Flags().BoolVar(&o.Sync, "sync", false, "return only once the snapshot is durable on disk and digested")
	return cmd
}

func newRestoreCommand(g *globals) *cobra.Command {
	var o client.RestoreOptions
	cmd := &cobra.Command{
		Use:   "restore [--name NAME] [--count N] SNAPSHOT",
		Short: "Start new containers from a snapshot",
		Long: `Start a new container from a snapshot, running from the checkpointed state
(processes, memory and /tmp continue; the log starts empty), and print its id.
--count N forks N independent containers from the one snapshot; with --name
they are named NAME-1 ... NAME-N. Hooks run as for any start; the timeout
counts from the restore.`,
		Example: `  nucleusctl restore warm
  nucleusctl restore --count 10 --name branch warm`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cs, err := c.Restore(ctx, args[0], o)
				if err != nil {
					return err
				}
				for _, ctr := range cs {
					fmt.Fprintln(g.env.Stdout, ctr.GetId())
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", "", "name of the new container (NAME-1 ... NAME-N with --count)")
	cmd.Flags().IntVar(&o.Count, "count", 1, "how many containers to restore (forks)")
	return cmd
}
