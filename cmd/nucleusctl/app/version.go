package app

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/version"
)

// VersionOptions are the flags of `nucleusctl version`.
type VersionOptions struct {
	Output string // -o table|json
}

func newVersionCommand(g *globals) *cobra.Command {
	var o VersionOptions
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the nucleusctl and nucleusd versions",
		Long: `Show the versions of nucleusctl and of nucleusd (with its runsc and API).
When nucleusd cannot be reached the client part is still printed, then the
error, and the exit code is 125.`,
		Example: `  nucleusctl version
  nucleusctl version -o json | jq -r .server.version`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.Output); err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return g.version(ctx, c, o) })
		},
	}
	addOutputFlag(cmd, &o.Output, "json: {client, server}")
	return cmd
}

// clientVersion is the client half of `version`.
type clientVersion struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"go_version"`
	OSArch    string `json:"os_arch"`
}

// version prints both halves; the server half may fail.
func (g *globals) version(ctx context.Context, c *client.Client, o VersionOptions) error {
	cv := clientVersion{version.Version, version.Revision, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}
	sv, err := c.Version(ctx)
	if o.Output == outputJSON {
		server := json.RawMessage("null")
		if err == nil {
			if server, err = compactJSON(sv); err != nil {
				return err
			}
		}
		b, jerr := json.Marshal(struct {
			Client clientVersion   `json:"client"`
			Server json.RawMessage `json:"server"`
		}{cv, server})
		if jerr != nil {
			return jerr
		}
		if werr := writeIndented(g.env.Stdout, b); werr != nil {
			return werr
		}
		return err
	}
	tw := tabwriter.NewWriter(g.env.Stdout, 0, 1, 1, ' ', 0)
	fmt.Fprintf(tw, "Client:\n Version:\t%s\n Revision:\t%s\n Go version:\t%s\n OS/Arch:\t%s\n", cv.Version, cv.Revision, cv.GoVersion, cv.OSArch)
	if err == nil {
		fmt.Fprintf(tw, "\nServer:\n Version:\t%s\n Revision:\t%s\n API version:\t%s\n runsc:\t%s\n Go version:\t%s\n",
			sv.GetVersion(), sv.GetRevision(), sv.GetApiVersion(), sv.GetRunscVersion(), sv.GetGoVersion())
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	return err
}
