package app

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// LogsOptions are the flags of `nucleusctl logs`.
type LogsOptions struct {
	Follow     bool   // -f: keep streaming until the container exits
	Tail       string // -n/--tail N|all
	Since      string // --since: duration, Unix time or RFC 3339
	Timestamps bool   // -t: prefix each line with its time
}

func newLogsCommand(g *globals) *cobra.Command {
	var o LogsOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] ID",
		Short: "Print a container's output",
		Long: `Print a container's recorded output: stdout to stdout and stderr to stderr,
raw, as docker does. -f keeps streaming until the container exits (or Ctrl-C).
--since takes a duration before now (10m), a Unix timestamp or an RFC 3339
time; -t prefixes each line with the time nucleusd read it (RFC 3339, UTC).`,
		Example: `  nucleusctl logs web
  nucleusctl logs -f --tail 20 web
  nucleusctl logs -t --since 10m web 2>/dev/null`,
		Args:              exactArgs(1),
		ValidArgsFunction: g.completeFirstContainer,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := g.logsRequest(o, args[0])
			if err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				w := &logWriter{stdout: g.env.Stdout, stderr: g.env.Stderr, timestamps: o.Timestamps}
				return c.Logs(ctx, req, w.write)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "follow the output until the container exits")
	f.StringVarP(&o.Tail, "tail", "n", "all", `number of entries to show from the end, or "all"`)
	f.StringVar(&o.Since, "since", "", "show output since a time (2026-01-02T15:04:05Z, a Unix timestamp) or a duration before now (10m)")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "prefix each line with its timestamp")
	return cmd
}

// logsRequest maps the flags onto a LogsRequest.
func (g *globals) logsRequest(o LogsOptions, id string) (*nucleusv1.LogsRequest, error) {
	req := &nucleusv1.LogsRequest{Id: id, Follow: o.Follow, Timestamps: o.Timestamps}
	var err error
	if req.Tail, err = client.ParseTail(o.Tail); err != nil {
		return nil, err
	}
	if o.Since != "" {
		t, err := client.ParseSince(o.Since, g.env.Now())
		if err != nil {
			return nil, err
		}
		req.Since = timestamppb.New(t)
	}
	return req, nil
}

// logWriter writes entries to the stream they came from, joining partial
// entries and, with -t, prefixing each line (not each piece) with its
// timestamp.
type logWriter struct {
	stdout, stderr io.Writer
	timestamps     bool
	// midLine is set per stream while a partial line is being continued.
	midLine [3]bool
}

func (w *logWriter) write(e *nucleusv1.LogEntry) error {
	s := e.GetStream()
	out := w.stdout
	if s == nucleusv1.LogStream_LOG_STREAM_STDERR {
		out = w.stderr
	}
	if w.timestamps && !w.midLine[s] {
		if _, err := io.WriteString(out, e.GetTime().AsTime().UTC().Format(timestampLayout)+" "); err != nil {
			return err
		}
	}
	w.midLine[s] = e.GetPartial()
	_, err := out.Write(client.EntryOutput(e))
	return err
}
