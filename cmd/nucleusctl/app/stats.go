package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// StatsOptions are the flags of `nucleusctl stats`.
type StatsOptions struct {
	NoStream bool   // --no-stream: one sample, then exit
	Output   string // -o table|json (json: one line per container sample)
}

func newStatsCommand(g *globals) *cobra.Command {
	var o StatsOptions
	cmd := &cobra.Command{
		Use:   "stats [--no-stream] [ID...]",
		Short: "Show containers' resource usage",
		Long: `Show resource usage of the named containers (default: all running ones),
refreshed every second until Ctrl-C, or once with --no-stream.

CPU % is computed between two samples, so it shows "--" on the first one (and
always with --no-stream); CPU TIME is the total since start. -o json prints one
ContainerStats message per line.`,
		Example: `  nucleusctl stats
  nucleusctl stats --no-stream web worker
  nucleusctl stats --no-stream -o json | jq .memory_usage_bytes`,
		ValidArgsFunction: g.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.Output); err != nil {
				return err
			}
			req := &nucleusv1.StatsRequest{Ids: args, Stream: !o.NoStream}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				p := &statsPrinter{out: g.env.Stdout, json: o.Output == outputJSON, prev: map[string]*nucleusv1.ContainerStats{}}
				p.clear = !o.NoStream && !p.json && isTerminal(g.env.Stdout)
				return c.Stats(ctx, req, p.print)
			})
		},
	}
	cmd.Flags().BoolVar(&o.NoStream, "no-stream", false, "print one sample and exit")
	addOutputFlag(cmd, &o.Output, "json: one sample per line")
	return cmd
}

// statsPrinter prints batches of samples, remembering the previous sample
// of each container for CPU %.
type statsPrinter struct {
	out   io.Writer
	json  bool
	clear bool
	// printed is set once a table has been printed.
	printed bool
	prev    map[string]*nucleusv1.ContainerStats
}

func (p *statsPrinter) print(batch []*nucleusv1.ContainerStats) error {
	if p.json {
		for _, s := range batch {
			if err := writeJSONLine(p.out, s); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case p.clear:
		fmt.Fprint(p.out, "\033[2J\033[H")
	case p.printed:
		fmt.Fprintln(p.out) // a blank line between samples when not redrawing
	}
	p.printed = true
	tw := tabwriter.NewWriter(p.out, 0, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tCPU TIME\tMEM USAGE / LIMIT\tMEM %\tPIDS")
	for _, s := range batch {
		limit, memPct := "unlimited", "--"
		if s.GetMemoryLimitBytes() > 0 {
			limit = bytesSize(s.GetMemoryLimitBytes())
			memPct = fmt.Sprintf("%.2f%%", 100*float64(s.GetMemoryUsageBytes())/float64(s.GetMemoryLimitBytes()))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s / %s\t%s\t%d\n", shortID(s.GetId()), s.GetName(), cpuPercent(p.prev[s.GetId()], s),
			time.Duration(s.GetCpuUsageNs()).Round(10*time.Millisecond), bytesSize(s.GetMemoryUsageBytes()), limit, memPct, s.GetPidsCurrent())
		p.prev[s.GetId()] = s
	}
	return tw.Flush()
}

// cpuPercent is the CPU used between two samples, as a percentage of one
// CPU (200% = two CPUs busy), or "--" without a usable previous sample.
func cpuPercent(prev, cur *nucleusv1.ContainerStats) string {
	if prev == nil {
		return "--"
	}
	wall := cur.GetTime().AsTime().Sub(prev.GetTime().AsTime())
	if wall <= 0 || cur.GetCpuUsageNs() < prev.GetCpuUsageNs() {
		return "--"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(cur.GetCpuUsageNs()-prev.GetCpuUsageNs())/float64(wall))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
