package app

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// InfoOptions are the flags of `nucleusctl info`.
type InfoOptions struct {
	Output string // -o table|json
}

func newInfoCommand(g *globals) *cobra.Command {
	var o InfoOptions
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show nucleusd's configuration summary and container counts",
		Long: `Show nucleusd's configuration summary (platform, network, directories, limits,
hook sets) and the containers visible to the caller, by state.`,
		Example: `  nucleusctl info
  nucleusctl info -o json | jq .caller_uid`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.Output); err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				info, err := c.Info(ctx)
				if err != nil {
					return err
				}
				if o.Output == outputJSON {
					b, err := compactJSON(info)
					if err != nil {
						return err
					}
					return writeIndented(g.env.Stdout, b)
				}
				return writeInfo(g, info)
			})
		},
	}
	addOutputFlag(cmd, &o.Output, "json: the InfoResponse")
	return cmd
}

// writeInfo prints info as docker info does: "Key: value" lines.
func writeInfo(g *globals, info *nucleusv1.InfoResponse) error {
	tw := tabwriter.NewWriter(g.env.Stdout, 0, 1, 1, ' ', 0)
	fmt.Fprintf(tw, "Containers:\t%d\n", info.GetContainers())
	for _, sc := range info.GetStateCounts() {
		name := enumName(sc.GetState().String(), "CONTAINER_STATE_")
		fmt.Fprintf(tw, " %s:\t%d\n", strings.ToUpper(name[:1])+name[1:], sc.GetCount())
	}
	hooks := strings.Join(info.GetHookSets(), ", ")
	if hooks == "" {
		hooks = "none"
	}
	if d := info.GetDefaultHookSet(); d != "" {
		hooks += " (default: " + d + ")"
	}
	fmt.Fprintf(tw, "Max containers:\t%d (per uid: %d)\n", info.GetMaxContainers(), info.GetMaxContainersPerUid())
	fmt.Fprintf(tw, "Platform:\t%s\n", info.GetPlatform())
	fmt.Fprintf(tw, "runsc:\t%s\n", info.GetRunscVersion())
	fmt.Fprintf(tw, "Default network:\t%s\n", info.GetDefaultNetwork())
	fmt.Fprintf(tw, "Hook sets:\t%s\n", hooks)
	fmt.Fprintf(tw, "Root dir:\t%s\n", info.GetRootDir())
	fmt.Fprintf(tw, "State dir:\t%s\n", info.GetStateDir())
	fmt.Fprintf(tw, "Caller uid:\t%d\n", info.GetCallerUid())
	if info.GetGoroutines() > 0 { // reported to root only
		fmt.Fprintf(tw, "Goroutines:\t%d\n", info.GetGoroutines())
		fmt.Fprintf(tw, "Open fds:\t%d\n", info.GetOpenFds())
	}
	return tw.Flush()
}
