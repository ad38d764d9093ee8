package app

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// PsOptions are the flags of `nucleusctl ps`.
type PsOptions struct {
	All     bool     // -a: every state, not only running and paused
	Quiet   bool     // -q: ids only
	NoTrunc bool     // --no-trunc: full ids and commands
	Filters []string // --filter status=S | label=K[=V] | name=SUBSTRING
	Output  string   // -o table|json
}

func newPsCommand(g *globals) *cobra.Command {
	var o PsOptions
	cmd := &cobra.Command{
		Use:   "ps [flags]",
		Short: "List containers",
		Long: `List containers, newest first: running and paused ones, or all with -a.

Filters (repeatable; all must match, several status filters mean any of them):
  status=creating|created|running|paused|exited  (implies -a)
  label=KEY or label=KEY=VALUE
  name=SUBSTRING
-o json prints one JSON array of the API's Container messages.`,
		Example: `  nucleusctl ps
  nucleusctl ps -a --filter status=exited --filter label=team=ml
  nucleusctl ps -aq | xargs -r nucleusctl rm -f
  nucleusctl ps -o json | jq -r '.[].name'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.Output); err != nil {
				return err
			}
			req, err := listRequest(o)
			if err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.ps(ctx, c, o, req) })
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "show all containers (default: running and paused)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "only print container ids")
	f.BoolVar(&o.NoTrunc, "no-trunc", false, "do not truncate ids and commands")
	f.StringArrayVarP(&o.Filters, "filter", "f", nil, "filter: status=S, label=K[=V] or name=SUBSTRING (repeatable)")
	addOutputFlag(cmd, &o.Output, "json: an array of containers")
	return cmd
}

// listRequest maps the ps flags onto a ListRequest.
func listRequest(o PsOptions) (*nucleusv1.ListRequest, error) {
	req := &nucleusv1.ListRequest{}
	for _, f := range o.Filters {
		key, val, _ := strings.Cut(f, "=")
		switch key {
		case "status":
			n, ok := parseEnum(nucleusv1.ContainerState_name, "CONTAINER_STATE_", val)
			if !ok {
				return nil, fmt.Errorf("invalid filter %q: status is one of creating, created, running, paused, exited", f)
			}
			req.States = append(req.States, nucleusv1.ContainerState(n))
		case "label":
			req.Labels = append(req.Labels, val)
		case "name":
			if req.Name != "" {
				return nil, fmt.Errorf("invalid filter %q: only one name filter is supported", f)
			}
			req.Name = val
		default:
			return nil, fmt.Errorf("invalid filter %q: want status=S, label=K[=V] or name=SUBSTRING", f)
		}
	}
	if !o.All && len(req.States) == 0 {
		req.States = []nucleusv1.ContainerState{nucleusv1.ContainerState_CONTAINER_STATE_RUNNING, nucleusv1.ContainerState_CONTAINER_STATE_PAUSED}
	}
	if o.Output != outputJSON {
		// The table and -q show what the summary has; -o json prints
		// the whole Container messages.
		req.View = nucleusv1.ListView_LIST_VIEW_SUMMARY
	}
	return req, nil
}

// ps lists the containers as a table, ids or JSON.
func (g *globals) ps(ctx context.Context, c *client.Client, o PsOptions, req *nucleusv1.ListRequest) error {
	ctrs, err := c.List(ctx, req)
	if err != nil {
		return err
	}
	slices.Reverse(ctrs) // newest first, as docker lists
	id := shortID
	if o.NoTrunc {
		id = func(s string) string { return s }
	}
	switch {
	case o.Quiet:
		for _, ctr := range ctrs {
			fmt.Fprintln(g.env.Stdout, id(ctr.GetId()))
		}
		return nil
	case o.Output == outputJSON:
		return writeJSONArray(g.env.Stdout, ctrs)
	}
	now := g.env.Now()
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCOMMAND\tCREATED\tSTATUS\tPORTS")
	for _, ctr := range ctrs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id(ctr.GetId()), ctr.GetName(),
			command(ctr.GetSpec().GetArgs(), o.NoTrunc), strings.TrimPrefix(since(ctr.GetCreatedAt(), now, " ago"), " "), status(ctr, now),
			client.FormatPorts(ctr.GetPorts()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// An empty PORTS cell leaves the padding of STATUS behind.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line != "" {
			fmt.Fprintln(g.env.Stdout, strings.TrimRight(line, " \n"))
		}
	}
	return nil
}
