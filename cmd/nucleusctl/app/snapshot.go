package app

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

func newSnapshotCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "List, inspect and remove snapshots",
		Long:  `Manage the snapshots made by 'nucleusctl checkpoint'.`,
		Example: `  nucleusctl snapshot ls
  nucleusctl snapshot inspect warm
  nucleusctl snapshot rm warm`,
		Args: exactArgs(0),
	}
	cmd.AddCommand(newSnapshotLsCommand(g), newSnapshotInspectCommand(g), newSnapshotRmCommand(g))
	return cmd
}

func newSnapshotLsCommand(g *globals) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List your snapshots",
		Example: `  nucleusctl snapshot ls
  nucleusctl snapshot ls -q | xargs -r nucleusctl snapshot rm`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				snaps, err := c.ListSnapshots(ctx)
				if err != nil {
					return err
				}
				if quiet {
					for _, s := range snaps {
						fmt.Fprintln(g.env.Stdout, s.GetId())
					}
					return nil
				}
				return writeSnapshotTable(g, snaps)
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only print snapshot ids")
	return cmd
}

func writeSnapshotTable(g *globals, snaps []*nucleusv1.Snapshot) error {
	tw := tabwriter.NewWriter(g.env.Stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "SNAPSHOT ID\tNAME\tSOURCE\tSIZE\tCREATED\tSTATUS")
	now := time.Now()
	for _, s := range snaps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", shortID(s.GetId()), s.GetName(), s.GetSourceName(),
			bytesSize(uint64(s.GetSizeBytes())), since(s.GetCreatedAt(), now, " ago"), snapshotStatus(s))
	}
	return tw.Flush()
}

// snapshotStatus is "sealed", "sealing" (not yet durable) or why the seal
// failed.
func snapshotStatus(s *nucleusv1.Snapshot) string {
	switch {
	case s.GetSealError() != "":
		return "failed: " + s.GetSealError()
	case s.GetSealing():
		return "sealing"
	}
	return "sealed"
}

func newSnapshotInspectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "inspect SNAPSHOT...",
		Short:   "Print snapshots as a JSON array",
		Example: `  nucleusctl snapshot inspect warm | jq -r '.[0].size_bytes'`,
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				f := failures{g: g}
				out := []*nucleusv1.Snapshot{}
				for _, id := range args {
					s, err := c.GetSnapshot(ctx, id)
					if err != nil {
						if g.expired(ctx) {
							return err
						}
						f.add(err)
						continue
					}
					out = append(out, s)
				}
				if err := writeJSONArray(g.env.Stdout, out); err != nil {
					return err
				}
				return f.err()
			})
		},
	}
}

func newSnapshotRmCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rm SNAPSHOT...",
		Aliases: []string{"remove"},
		Short:   "Remove snapshots (record and files)",
		Example: `  nucleusctl snapshot rm warm`,
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error { return c.RemoveSnapshot(ctx, id) })
			})
		},
	}
}
