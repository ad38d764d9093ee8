package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

func newFsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fs",
		Short: "Read and write files in a running container",
		Long: `Read and write files inside a running container, for scripts. Paths are
resolved inside the container's sandbox.`,
		Example: `  nucleusctl fs ls job /tmp
  echo hi | nucleusctl fs write --mode 0600 job /tmp/greeting
  nucleusctl fs cat job /tmp/greeting`,
	}
	fsCall := func(use, short string, n int, fn func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
		name := strings.Fields(use)[0]
		return &cobra.Command{Use: use, Short: short, Example: "  nucleusctl fs " + name + " job " + map[bool]string{true: "/tmp/a /tmp/b", false: "/tmp"}[n == 3], Args: exactArgs(n), RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error { return fn(ctx, c, args) })
		}}
	}
	ls := fsCall("ls CONTAINER PATH", "List a directory", 2, func(ctx context.Context, c *client.Client, a []string) error {
		ents, err := c.ListDir(ctx, a[0], a[1])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(g.env.Stdout, 0, 4, 1, ' ', 0)
		for _, e := range ents {
			printInfo(tw, e)
		}
		return tw.Flush()
	})
	stat := fsCall("stat CONTAINER PATH", "Describe a path (not following a final symlink)", 2, func(ctx context.Context, c *client.Client, a []string) error {
		info, err := c.StatFile(ctx, a[0], a[1])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(g.env.Stdout, 0, 4, 1, ' ', 0)
		printInfo(tw, info)
		return tw.Flush()
	})
	cat := fsCall("cat CONTAINER PATH", "Write a file to stdout", 2, func(ctx context.Context, c *client.Client, a []string) error {
		_, err := c.ReadFile(ctx, a[0], a[1], g.env.Stdout)
		return err
	})
	var mode, owner string
	write := fsCall("write [--mode MODE] [--owner UID:GID] CONTAINER PATH", "Create or replace a file with stdin", 2, func(ctx context.Context, c *client.Client, a []string) error {
		o, err := fileOptions(mode, owner)
		if err != nil {
			return err
		}
		_, err = c.WriteFile(ctx, a[0], a[1], g.env.Stdin, o)
		return err
	})
	write.Flags().StringVar(&mode, "mode", "0644", "permission bits, octal")
	write.Flags().StringVar(&owner, "owner", "", "UID:GID owning the file (default root)")
	var recursive bool
	rm := fsCall("rm [-r] CONTAINER PATH", "Remove a path", 2, func(ctx context.Context, c *client.Client, a []string) error {
		return c.RemovePath(ctx, a[0], a[1], recursive)
	})
	rm.Flags().BoolVarP(&recursive, "recursive", "r", false, "remove a directory and its contents")
	var parents bool
	var dirMode string
	mkdir := fsCall("mkdir [-p] [--mode MODE] CONTAINER PATH", "Create a directory", 2, func(ctx context.Context, c *client.Client, a []string) error {
		m, err := strconv.ParseUint(dirMode, 8, 32)
		if err != nil || m > 0o7777 {
			return errdefs.InvalidArgument("--mode %q: want octal permission bits such as 0755", dirMode)
		}
		return c.MakeDir(ctx, a[0], a[1], uint32(m), parents)
	})
	mkdir.Flags().BoolVarP(&parents, "parents", "p", false, "create missing parents; an existing directory is fine")
	mkdir.Flags().StringVar(&dirMode, "mode", "0755", "permission bits, octal")
	mv := fsCall("mv CONTAINER FROM TO", "Rename a path", 3, func(ctx context.Context, c *client.Client, a []string) error {
		return c.RenamePath(ctx, a[0], a[1], a[2])
	})
	cmd.AddCommand(ls, stat, cat, write, rm, mkdir, mv)
	return cmd
}

func fileOptions(mode, owner string) (client.FileOptions, error) {
	var o client.FileOptions
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil || m > 0o7777 {
		return o, errdefs.InvalidArgument("--mode %q: want octal permission bits such as 0644", mode)
	}
	o.Mode = uint32(m)
	if owner != "" {
		u, gid, ok := strings.Cut(owner, ":")
		uid, err1 := strconv.ParseUint(u, 10, 32)
		g, err2 := strconv.ParseUint(gid, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return o, errdefs.InvalidArgument("--owner %q: want UID:GID", owner)
		}
		o.UID, o.GID, o.SetOwner = uint32(uid), uint32(g), true
	}
	return o, nil
}

// printInfo writes one ls -l style line: mode, owner, size, time, name.
func printInfo(tw *tabwriter.Writer, i *nucleusv1.FileInfo) {
	name := strconv.Quote(i.GetName())
	if !strings.ContainsAny(i.GetName(), " \t\n\"\\") && strconv.CanBackquote(i.GetName()) {
		name = i.GetName()
	}
	if i.GetLinkTarget() != "" {
		name += " -> " + i.GetLinkTarget()
	}
	t := time.Unix(0, i.GetMtimeUnixNano()).UTC().Format(time.RFC3339)
	fmt.Fprintf(tw, "%s\t%d:%d\t%d\t%s\t%s\n", modeString(i.GetMode()), i.GetUid(), i.GetGid(), i.GetSize(), t, name)
}

// modeString renders st_mode like ls -l.
func modeString(m uint32) string {
	types := map[uint32]byte{0o040000: 'd', 0o120000: 'l', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's'}
	b := []byte("-rwxrwxrwx")
	if t, ok := types[m&0o170000]; ok {
		b[0] = t
	}
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	if m&0o4000 != 0 {
		b[3] = 's'
	}
	if m&0o2000 != 0 {
		b[6] = 's'
	}
	if m&0o1000 != 0 {
		b[9] = 't'
	}
	return string(b)
}
