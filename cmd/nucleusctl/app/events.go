package app

import (
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// EventsOptions are the flags of `nucleusctl events`.
type EventsOptions struct {
	Since   string   // --since SEQUENCE: replay events after it
	Filters []string // --filter container=ID|NAME, type=EVENT
	Output  string   // -o table|json (json: one Event per line)
}

func newEventsCommand(g *globals) *cobra.Command {
	var o EventsOptions
	cmd := &cobra.Command{
		Use:   "events [--since SEQUENCE] [--filter k=v]",
		Short: "Stream lifecycle events",
		Long: `Stream container lifecycle events until Ctrl-C, one line each:

  TIME container TYPE ID (exit=7, name=web, reason=exited, seq=42)

Every event has a sequence number (seq) that only grows, also across daemon
restarts. --since takes such a number, not a time: events after it that nucleusd
still retains are replayed first (0: all retained), then live ones follow; a
warning on stderr tells when some had already been pruned. A number beyond the
newest event replays nothing. Without --since only live events are shown.

Filters (repeatable): container=ID|NAME, type=created|started|exited|oom|
hook_failed|deleted|paused|resumed|killed|updated (event= works too).
-o json prints one Event message per line.`,
		Example: `  nucleusctl events
  nucleusctl events --since 0 --filter type=exited --filter container=web
  nucleusctl events -o json | jq -c 'select(.type == "EVENT_TYPE_EXITED")'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.Output); err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.events(ctx, c, o) })
		},
	}
	cmd.Flags().StringVar(&o.Since, "since", "", "replay retained events after this sequence number (0: all)")
	cmd.Flags().StringArrayVarP(&o.Filters, "filter", "f", nil, "filter: container=ID|NAME or type=EVENT (repeatable)")
	addOutputFlag(cmd, &o.Output, "json: one event per line")
	return cmd
}

// fullID matches a full container id, which needs no lookup.
var fullID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// events maps the flags onto an EventsRequest and prints the stream.
func (g *globals) events(ctx context.Context, c *client.Client, o EventsOptions) error {
	req := &nucleusv1.EventsRequest{}
	if o.Since != "" {
		n, err := strconv.ParseUint(o.Since, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid --since %q: events resume by sequence number (see the seq= field), not by time", o.Since)
		}
		req.SinceSequence = &n
	}
	for _, f := range o.Filters {
		key, val, _ := strings.Cut(f, "=")
		switch key {
		case "container":
			id := val
			if !fullID.MatchString(val) {
				ctr, err := c.Get(ctx, val)
				if err != nil {
					return err
				}
				id = ctr.GetId()
			}
			req.ContainerIds = append(req.ContainerIds, id)
		case "type", "event":
			n, ok := parseEnum(nucleusv1.EventType_name, "EVENT_TYPE_", val)
			if !ok {
				return fmt.Errorf("invalid filter %q: unknown event type", f)
			}
			req.Types = append(req.Types, nucleusv1.EventType(n))
		default:
			return fmt.Errorf("invalid filter %q: want container=ID|NAME or type=EVENT", f)
		}
	}
	return c.Events(ctx, req, func(resp *nucleusv1.EventsResponse) error {
		ev := resp.GetEvent()
		if resp.GetEventsLost() {
			fmt.Fprintf(g.env.Stderr, "nucleusctl: some events were pruned before they could be replayed; resuming at sequence %d\n", ev.GetSequence())
		}
		if o.Output == outputJSON {
			return writeJSONLine(g.env.Stdout, ev)
		}
		return writeEvent(g.env.Stdout, ev)
	})
}

// writeEvent prints an event as docker does: time, object, action, id and
// the sorted attributes.
func writeEvent(w io.Writer, ev *nucleusv1.Event) error {
	attrs := maps.Clone(ev.GetAttributes())
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["name"] = ev.GetContainerName()
	attrs["seq"] = strconv.FormatUint(ev.GetSequence(), 10)
	if ev.GetType() == nucleusv1.EventType_EVENT_TYPE_EXITED {
		attrs["exit"] = strconv.Itoa(int(ev.GetExitCode()))
	}
	if ev.GetMessage() != "" {
		attrs["message"] = ev.GetMessage()
	}
	// The API carries signal numbers; the display names them.
	if n, err := strconv.Atoi(attrs["signal"]); err == nil {
		if name := unix.SignalName(unix.Signal(n)); name != "" {
			attrs["signal"] = name
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		if strings.ContainsAny(v, " ,()\"\n") {
			v = strconv.Quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	_, err := fmt.Fprintf(w, "%s container %s %s (%s)\n", ev.GetTime().AsTime().Local().Format(timestampLayout),
		enumName(ev.GetType().String(), "EVENT_TYPE_"), ev.GetContainerId(), strings.Join(parts, ", "))
	return err
}
