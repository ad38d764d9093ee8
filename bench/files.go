package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// filesMiB is the size of the file the files figure moves each way.
const filesMiB = 100

// filesPairs is how many samples each variant of the files figure takes.
const filesPairs = 3

// filesFigure is figure 8: WriteFile+ReadFile of 100 MiB against piping
// the same bytes in and out through `exec cat`, with the throughput; and
// CopyTo of a tree's tar into a sandbox against `tar -x` of it on the host.
func filesFigure(ctx context.Context, e *env) ([]*Figure, error) {
	// /tmp is 64 MiB by default: the data goes to a tmpfs volume of its own.
	ct, err := e.c.RunDetached(ctx, bigFilesSpec())
	if err != nil {
		return nil, err
	}
	id := ct.GetId()
	defer func() { _, _ = e.c.Delete(context.WithoutCancel(ctx), id, true) }()
	data := make([]byte, filesMiB<<20)
	_, _ = rand.Read(data)
	check := func(back *bytes.Buffer) error {
		if !bytes.Equal(back.Bytes(), data) {
			return fmt.Errorf("read back %d bytes, not the %d written", back.Len(), len(data))
		}
		return nil
	}
	vs := []variant{
		{"exec cat > f, then exec cat f", func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			if code, err := e.c.Exec(ctx, client.ExecOptions{ID: id, Args: []string{"/bin/sh", "-c", "cat > /data/piped"}, Stdin: bytes.NewReader(data)}); err != nil || code != 0 {
				return 0, fmt.Errorf("exec cat in: %d %v", code, err)
			}
			var back bytes.Buffer
			if code, err := e.c.Exec(ctx, client.ExecOptions{ID: id, Args: []string{"/bin/cat", "/data/piped"}, Stdout: &back}); err != nil || code != 0 {
				return 0, fmt.Errorf("exec cat out: %d %v", code, err)
			}
			return time.Since(start), check(&back)
		}},
		{"WriteFile, then ReadFile", func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			if _, err := e.c.WriteFile(ctx, id, "/data/written", bytes.NewReader(data), client.FileOptions{}); err != nil {
				return 0, err
			}
			var back bytes.Buffer
			if _, err := e.c.ReadFile(ctx, id, "/data/written", &back); err != nil {
				return 0, err
			}
			return time.Since(start), check(&back)
		}},
	}
	samples, err := alternate(ctx, filesPairs, 1, vs)
	if err != nil {
		return nil, err
	}
	f := &Figure{Key: "8 files", Title: fmt.Sprintf("%d MiB into a sandbox and back: the Files API against exec cat (both through the Go client)", filesMiB)}
	base := timeRow(vs[0].name, samples[0])
	ours := timeRow(vs[1].name, samples[1]).against(base)
	f.Rows = append(f.Rows, base, ours,
		valueRow("WriteFile+ReadFile throughput (both ways)", "MiB/s", 2*filesMiB/ours.Median))
	tree, err := treeFigure(ctx, e, id)
	return []*Figure{f, tree}, err
}

// bigFilesSpec is an idle container with a 300 MiB tmpfs at /data.
func bigFilesSpec() *nucleusv1.ContainerSpec {
	return &nucleusv1.ContainerSpec{Args: sleepArgs, Resources: &nucleusv1.Resources{MemoryBytes: 1 << 30},
		Volumes: []*nucleusv1.Volume{{Type: nucleusv1.VolumeType_VOLUME_TYPE_TMPFS, Destination: "/data", SizeBytes: 300 << 20}}}
}

// treeFigure times CopyTo of a tar of a tree (200 files of 64 KiB in 10
// directories) into the sandbox against `tar -x` of the same tar on the
// host.
func treeFigure(ctx context.Context, e *env, id string) (*Figure, error) {
	dir, err := os.MkdirTemp("", "nucleus-bench-tree-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	chunk := make([]byte, 64<<10)
	for i := range 200 {
		sub := filepath.Join(dir, "tree", fmt.Sprintf("d%d", i%10))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return nil, err
		}
		_, _ = rand.Read(chunk)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", i)), chunk, 0o644); err != nil {
			return nil, err
		}
	}
	tarball, err := exec.CommandContext(ctx, "tar", "-C", dir, "-cf", "-", "tree").Output()
	if err != nil {
		return nil, fmt.Errorf("tar -c: %w", err)
	}
	n := 0
	vs := []variant{
		{"tar -x on the host", func(ctx context.Context) (time.Duration, error) {
			n++
			out := filepath.Join(dir, fmt.Sprintf("x%d", n))
			if err := os.Mkdir(out, 0o755); err != nil {
				return 0, err
			}
			cmd := exec.CommandContext(ctx, "tar", "-C", out, "-xf", "-")
			cmd.Stdin = bytes.NewReader(tarball)
			start := time.Now()
			err := cmd.Run()
			return time.Since(start), err
		}},
		{"CopyTo into the sandbox", func(ctx context.Context) (time.Duration, error) {
			n++
			out := fmt.Sprintf("/data/x%d", n)
			if err := e.c.MakeDir(ctx, id, out, 0, false); err != nil {
				return 0, err
			}
			start := time.Now()
			_, err := e.c.CopyTo(ctx, id, out, bytes.NewReader(tarball))
			d := time.Since(start)
			if err == nil {
				err = e.c.RemovePath(ctx, id, out, true)
			}
			return d, err
		}},
	}
	samples, err := alternate(ctx, filesPairs, 1, vs)
	if err != nil {
		return nil, err
	}
	f := &Figure{Key: "9 cp", Title: "A tree (200 files of 64 KiB, 10 directories) extracted from one tar: CopyTo into a sandbox against tar -x on the host"}
	base := msRow(vs[0].name, samples[0])
	f.Rows = append(f.Rows, base, msRow(vs[1].name, samples[1]).against(base))
	return f, nil
}
