package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/fsapi/guest"
	"nucleus.dev/nucleus/internal/errdefs"
)

// maxLocalCopy bounds what cp extracts locally from a container's tar;
// the daemon's [limits] max_file_bytes bounds it first.
const maxLocalCopy = 1 << 40

func newCpCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cp SRC DST",
		Short: "Copy files between a container and the local filesystem",
		Long: `Copy a file or a directory tree between a running container and the local
filesystem, with docker cp's syntax and rules: one side is CONTAINER:PATH, the
other a local path, or - for a tar on stdin or stdout. Modes, owners (kept
locally only when run as root), times, symlinks (as links) and hard links are
kept. "DIR/." copies a directory's contents. Paths in the container are
resolved inside its sandbox: symlinks there never lead to the host.`,
		Example: `  nucleusctl cp ./data job:/tmp/data
  nucleusctl cp job:/tmp/out/plot.png .
  tar -c src | nucleusctl cp - job:/tmp
  nucleusctl cp job:/etc - | tar -t`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				srcC, srcP, srcIn := splitContainerPath(args[0])
				dstC, dstP, dstIn := splitContainerPath(args[1])
				switch {
				case srcIn && dstIn:
					return errdefs.InvalidArgument("copying between containers is not supported")
				case !srcIn && !dstIn:
					return errdefs.InvalidArgument("one of SRC and DST must be CONTAINER:PATH")
				case srcIn:
					return g.copyFrom(ctx, c, srcC, srcP, dstP)
				default:
					return g.copyTo(ctx, c, srcP, dstC, dstP)
				}
			})
		},
	}
}

// splitContainerPath splits "CONTAINER:PATH"; a local path ("./a:b",
// "/x:y", "-") has no container.
func splitContainerPath(arg string) (container, p string, ok bool) {
	i := strings.IndexByte(arg, ':')
	if i <= 0 || strings.ContainsRune(arg[:i], '/') {
		return "", arg, false
	}
	p = arg[i+1:]
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return arg[:i], p, true
}

// copyFrom copies src of container to the local dst (docker cp rules).
func (g *globals) copyFrom(ctx context.Context, c *client.Client, container, src, dst string) error {
	if dst == "-" {
		_, err := c.CopyFrom(ctx, container, src, g.env.Stdout)
		return err
	}
	into, rename := dst, (func(string) string)(nil)
	fi, err := os.Stat(dst)
	switch {
	case err == nil && fi.IsDir():
		// into dst, under the source's own name
	case err == nil || errors.Is(err, os.ErrNotExist):
		// dst is the new name of the source (a missing path, or a file)
		if strings.HasSuffix(src, "/.") {
			return errdefs.InvalidArgument("%s: copying a directory's contents needs an existing local directory", dst)
		}
		into = filepath.Dir(dst)
		rename = renameRoot(filepath.Base(dst))
	default:
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := guest.Extract(into, pr, guest.ExtractOptions{Max: maxLocalCopy, Owners: os.Geteuid() == 0, Rename: rename})
		_ = pr.CloseWithError(err)
		done <- err
	}()
	info, err := c.CopyFrom(ctx, container, src, pw)
	_ = pw.CloseWithError(err)
	if xerr := <-done; err == nil && xerr != nil {
		return fmt.Errorf("extracting into %s: %w", into, xerr)
	}
	if err == nil && fi != nil && !fi.IsDir() && info.GetMode()&0o170000 == 0o040000 {
		return errdefs.InvalidArgument("cannot copy a directory over the file %s", dst)
	}
	return err
}

// renameRoot renames the first component of tar entry names to root.
func renameRoot(root string) func(string) string {
	return func(name string) string {
		name = strings.TrimPrefix(name, "./")
		if i := strings.IndexByte(name, '/'); i >= 0 {
			return root + name[i:]
		}
		return root
	}
}

// copyTo copies the local src (or a tar on stdin) to dst in container.
func (g *globals) copyTo(ctx context.Context, c *client.Client, src, container, dst string) error {
	info, err := c.StatFile(ctx, container, dst)
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	isDir := err == nil && info.GetMode()&0o170000 == 0o040000
	if src == "-" {
		if !isDir {
			return errdefs.InvalidArgument("%s:%s must be an existing directory to extract a tar from stdin into", container, dst)
		}
		_, err := c.CopyTo(ctx, container, dst, g.env.Stdin)
		return err
	}
	clean := filepath.Clean(src)
	lfi, err := os.Lstat(clean)
	if err != nil {
		return err
	}
	into, root := dst, filepath.Base(clean)
	if strings.HasSuffix(src, "/.") {
		root = "."
		if !isDir {
			return errdefs.InvalidArgument("%s:%s must be an existing directory to copy a directory's contents into", container, dst)
		}
	} else if !isDir {
		if info != nil && lfi.IsDir() {
			return errdefs.InvalidArgument("cannot copy a directory over the file %s:%s", container, dst)
		}
		into, root = path.Dir(dst), path.Base(dst)
	}
	pr, pw := io.Pipe()
	go func() { _ = pw.CloseWithError(guest.Archive(pw, clean, root, maxLocalCopy)) }()
	_, err = c.CopyTo(ctx, container, into, pr)
	_ = pr.Close()
	return err
}
