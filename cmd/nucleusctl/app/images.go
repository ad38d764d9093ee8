package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// newPullCommand is `nucleusctl pull REF`.
func newPullCommand(g *globals) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [-q] REF",
		Short: "Pull an image from a registry",
		Long: `Pull an image (a tag or a digest) into nucleusd's image store. On a terminal
a progress bar per layer is drawn; otherwise one line per layer event. The
last line is the image's digest. Non-root callers may pull only from the
operator's allowed registries.`,
		Example: `  nucleusctl pull busybox:1.36
  nucleusctl pull registry.internal:5000/app@sha256:0123...`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				p := newPullProgress(g.env.Stdout, quiet)
				img, err := c.PullImage(ctx, args[0], p.update)
				p.finish()
				if err != nil {
					return err
				}
				fmt.Fprintln(g.env.Stdout, img.GetDigest())
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the digest")
	return cmd
}

// ImagesOptions are the flags of `nucleusctl images`.
type ImagesOptions struct {
	Quiet, Digests bool
	Output         string
}

func newImagesCommand(g *globals) *cobra.Command {
	var o ImagesOptions
	cmd := &cobra.Command{
		Use:   "images [-q] [--digests] [-o json]",
		Short: "List images",
		Example: `  nucleusctl images
  nucleusctl images -q --digests
  nucleusctl images -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.Output); err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				imgs, err := c.ListImages(ctx)
				if err != nil {
					return err
				}
				return g.printImages(imgs, o)
			})
		},
	}
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "print only the image ids (short digests)")
	cmd.Flags().BoolVar(&o.Digests, "digests", false, "show the full digests")
	addOutputFlag(cmd, &o.Output, "an array of images")
	return cmd
}

func (g *globals) printImages(imgs []*nucleusv1.Image, o ImagesOptions) error {
	if o.Output == outputJSON {
		return writeJSONArray(g.env.Stdout, imgs)
	}
	if o.Quiet {
		for _, img := range imgs {
			fmt.Fprintln(g.env.Stdout, imageID(img.GetDigest(), o.Digests))
		}
		return nil
	}
	tw := tabwriter.NewWriter(g.env.Stdout, 0, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tSIZE\tCREATED")
	now := g.env.Now()
	for _, img := range imgs {
		refs := img.GetReferences()
		if len(refs) == 0 {
			refs = []string{"<none>"}
		}
		for _, ref := range refs {
			repo, tag := splitRef(ref)
			created := "N/A"
			if img.GetCreated() != nil {
				created = strings.TrimPrefix(since(img.GetCreated(), now, " ago"), " ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", repo, tag, imageID(img.GetDigest(), o.Digests), bytesSize(uint64(img.GetSizeBytes())), created)
		}
	}
	return tw.Flush()
}

// imageID is docker's short id (12 hex digits) or, with full, the digest.
func imageID(digest string, full bool) string {
	if full {
		return digest
	}
	hex := strings.TrimPrefix(digest, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// splitRef splits "host/repo:tag" (or "host/repo@sha256:...") into the
// repository and the tag ("<none>" for a digest reference).
func splitRef(ref string) (string, string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "<none>"
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "<none>"
}

func newRmiCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [-f] IMAGE...",
		Short: "Remove images",
		Long: `Remove images by reference, digest or short id. A reference of an image with
other references only untags it. An image a container uses is refused; -f
removes it when none of those containers runs. Non-root callers may remove
only images they pulled and nobody else uses.`,
		Example: `  nucleusctl rmi busybox:1.36
  nucleusctl rmi -f 0123456789ab`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				f := failures{g: g}
				for _, ref := range args {
					resp, err := c.RemoveImage(ctx, ref, force)
					if err != nil {
						if g.expired(ctx) {
							return err
						}
						f.add(err)
						continue
					}
					for _, u := range resp.GetUntagged() {
						fmt.Fprintln(g.env.Stdout, "Untagged: "+u)
					}
					if d := resp.GetDeletedDigest(); d != "" {
						fmt.Fprintln(g.env.Stdout, "Deleted: "+d)
					}
				}
				return f.err()
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove even when stopped containers use it")
	return cmd
}

// newImageCommand is `nucleusctl image import|inspect|prune|ls|pull|rm`.
func newImageCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Manage images", Example: "  nucleusctl image import app.tar\n  nucleusctl image inspect busybox"}
	ls := newImagesCommand(g)
	ls.Use, ls.Aliases, ls.Example = "ls [-q] [--digests] [-o json]", nil, "  nucleusctl image ls --digests"
	rm := newRmiCommand(g)
	rm.Use, rm.Example = "rm [-f] IMAGE...", "  nucleusctl image rm busybox"
	cmd.AddCommand(newImageImportCommand(g), newImageInspectCommand(g), newImagePruneCommand(g), ls, newPullCommand(g), rm)
	return cmd
}

func newImageImportCommand(g *globals) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:   "import [--ref REF] FILE|-",
		Short: "Import an OCI image layout tar or a docker save tar",
		Example: `  nucleusctl image import app.tar
  docker save app:v1 | nucleusctl image import -`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = g.env.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				imgs, err := c.ImportImage(ctx, r, ref)
				if err != nil {
					return err
				}
				for _, img := range imgs {
					fmt.Fprintf(g.env.Stdout, "%s %s\n", img.GetDigest(), strings.Join(img.GetReferences(), " "))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&ref, "ref", "", "reference to give an image the archive names none for")
	return cmd
}

func newImageInspectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "inspect IMAGE...",
		Short:   "Show images as JSON",
		Example: "  nucleusctl image inspect busybox:1.36",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				var imgs []*nucleusv1.Image
				f := failures{g: g}
				for _, ref := range args {
					img, err := c.GetImage(ctx, ref)
					if err != nil {
						f.add(err)
						continue
					}
					imgs = append(imgs, img)
				}
				if err := writeJSONArray(g.env.Stdout, imgs); err != nil {
					return err
				}
				return f.err()
			})
		},
	}
}

func newImagePruneCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "prune",
		Short:   "Remove images no container uses",
		Example: "  nucleusctl image prune",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				resp, err := c.PruneImages(ctx)
				if err != nil {
					return err
				}
				for _, d := range resp.GetDeletedDigests() {
					fmt.Fprintln(g.env.Stdout, "Deleted: "+d)
				}
				fmt.Fprintf(g.env.Stdout, "Total reclaimed space: %s\n", bytesSize(uint64(resp.GetReclaimedBytes())))
				return nil
			})
		},
	}
}
