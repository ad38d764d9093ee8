package app

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// StopOptions are the flags of `nucleusctl stop`.
type StopOptions struct {
	Time   int    // -t/--time: seconds between the signal and SIGKILL; <0: nucleusd's 10s
	Signal string // -s: the first signal; empty: SIGTERM
}

func newStopCommand(g *globals) *cobra.Command {
	var o StopOptions
	cmd := &cobra.Command{
		Use:   "stop [-t SECONDS] ID...",
		Short: "Stop containers gracefully",
		Long: `Send SIGTERM (or -s) to each container, wait up to -t seconds (default 10),
then SIGKILL; print the names or ids as given once they have exited.`,
		Example: `  nucleusctl stop web
  nucleusctl stop -t 30 web worker
  nucleusctl stop -s SIGINT -t 5 web`,
		Args:              minArgs(1),
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &nucleusv1.StopRequest{}
			if o.Time >= 0 {
				req.GracePeriod = durationpb.New(time.Duration(o.Time) * time.Second)
			}
			if o.Signal != "" {
				sig, err := client.ParseSignal(o.Signal)
				if err != nil {
					return err
				}
				req.Signal = sig
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				return g.eachID(ctx, args, func(id string) error {
					r := &nucleusv1.StopRequest{Id: id, GracePeriod: req.GracePeriod, Signal: req.Signal}
					_, err := c.Stop(ctx, r)
					return err
				})
			})
		},
	}
	cmd.Flags().IntVarP(&o.Time, "time", "t", -1, "seconds to wait before killing (default: nucleusd's, 10)")
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "", "signal to stop with (default SIGTERM)")
	return cmd
}
