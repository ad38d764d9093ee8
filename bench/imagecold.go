package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// imageLayerContainers is how many idle image containers the writable
// layer's cost is averaged over.
const imageLayerContainers = 5

// imageColdFigure is figure 9: a cold run of /bin/true from an already
// unpacked image (root = the image tree under an in-sandbox overlay)
// against today's cold run on the host-binaries root, alternating in the
// same run; then what the writable layer costs per idle container (disk
// under nucleusd's root, sandbox memory) against a host-root container.
func imageColdFigure(ctx context.Context, e *env) ([]*Figure, error) {
	ref, err := importBusyboxImage(ctx, e)
	if err != nil {
		return nil, err
	}
	imageRun := func(ctx context.Context) (time.Duration, error) {
		spec := &nucleusv1.ContainerSpec{Image: ref, ClearEntrypoint: true, Args: trueArgs, AutoRemove: true,
			PullPolicy: nucleusv1.PullPolicy_PULL_POLICY_NEVER}
		start := time.Now()
		ex, id, err := e.c.Run(ctx, spec, client.RunOptions{})
		d := time.Since(start)
		if err == nil && ex.GetExitCode() != 0 {
			err = fmt.Errorf("exit %d (%s)", ex.GetExitCode(), ex.GetMessage())
		}
		if err != nil {
			return d, fmt.Errorf("image run %s: %w", id, err)
		}
		return d, nil
	}
	vs := []variant{
		{"Go client Run, host-binaries root", func(ctx context.Context) (time.Duration, error) { return e.clientRun(ctx, trueArgs) }},
		{"Go client Run, from an unpacked image", imageRun},
	}
	samples, cpu, err := alternateCPU(ctx, e.cpu, e.cfg.pairs, 2, e.cfg.settle, vs)
	if err != nil {
		return nil, err
	}
	f := &Figure{Key: "9 image cold run", Title: "Cold run-to-exit of /bin/true from an already-unpacked image vs the host-binaries root"}
	base := timeRow(vs[0].name, samples[0])
	r := timeRow(vs[1].name, samples[1]).against(base)
	f.Rows = append(f.Rows, base, r.target("ratio <= 1.10", r.Ratio <= 1.10))
	if e.cpu != nil {
		// Where an image run costs more on the host: nucleusd (image
		// resolution, the id-mapped root), supervisors, runsc commands.
		cbase := msRow("CPU outside the sandbox: "+vs[0].name, cpu[0])
		f.Rows = append(f.Rows, cbase, msRow("CPU outside the sandbox: "+vs[1].name, cpu[1]).against(cbase))
		f.Notes = append(f.Notes, "CPU outside the sandbox: cpuacct usage of the cgroup holding the benchmark, nucleusd, the supervisors and the runsc command-line processes, per run (as in figure 1)")
	}
	rows, err := layerCost(ctx, e, ref)
	if err != nil {
		return nil, err
	}
	f.Rows = append(f.Rows, rows...)
	f.Notes = append(f.Notes, "image: busybox-static as /bin, imported with ImportImage; its writable layer is gVisor's rootfs overlay in sandbox memory (memory medium), capped by --disk")
	return []*Figure{f}, nil
}

// layerCost runs imageLayerContainers idle containers of each kind and
// reports the disk nucleusd's root grew by and the sandbox memory, per
// container.
func layerCost(ctx context.Context, e *env, ref string) ([]*Row, error) {
	measure := func(spec func() *nucleusv1.ContainerSpec) (disk, mem float64, err error) {
		before := duBytes(e.rootDir)
		var ids []string
		defer func() {
			for _, id := range ids {
				_, _ = e.c.Delete(context.WithoutCancel(ctx), id, true)
			}
		}()
		for range imageLayerContainers {
			c, err := e.c.RunDetached(ctx, spec())
			if err != nil {
				return 0, 0, err
			}
			ids = append(ids, c.GetId())
		}
		time.Sleep(time.Second)
		disk = float64(duBytes(e.rootDir)-before) / imageLayerContainers / (1 << 20)
		var total uint64
		err = e.c.Stats(ctx, &nucleusv1.StatsRequest{Ids: ids}, func(s []*nucleusv1.ContainerStats) error {
			for _, st := range s {
				total += st.GetMemoryUsageBytes()
			}
			return nil
		})
		return disk, float64(total) / imageLayerContainers / (1 << 20), err
	}
	hostDisk, hostMem, err := measure(func() *nucleusv1.ContainerSpec {
		return &nucleusv1.ContainerSpec{Args: []string{"/bin/sleep", "600"}}
	})
	if err != nil {
		return nil, fmt.Errorf("host-root containers: %w", err)
	}
	imgDisk, imgMem, err := measure(func() *nucleusv1.ContainerSpec {
		return &nucleusv1.ContainerSpec{Image: ref, ClearEntrypoint: true, Args: []string{"/bin/sleep", "600"}, PullPolicy: nucleusv1.PullPolicy_PULL_POLICY_NEVER}
	})
	if err != nil {
		return nil, fmt.Errorf("image containers: %w", err)
	}
	mb := valueRow("sandbox memory per idle container, host-binaries root", "MiB", hostMem)
	return []*Row{
		valueRow("disk under nucleusd's root per idle container, host-binaries root", "MiB", hostDisk),
		valueRow("disk under nucleusd's root per idle container, from an image", "MiB", imgDisk),
		mb,
		valueRow("sandbox memory per idle container, from an image", "MiB", imgMem).against(mb),
	}, nil
}

// duBytes is the bytes of the blocks allocated under dir, not counting
// bundles' rootfs mount points (an image's tree is mounted there: shared,
// and counted once under images/).
func duBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "rootfs" && filepath.Base(filepath.Dir(p)) == "bundle" {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if err == nil && unix.Lstat(p, &st) == nil {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}

// importBusyboxImage imports an image of the host's static busybox (as
// /bin/true, /bin/sleep, /bin/sh) and returns its reference.
func importBusyboxImage(ctx context.Context, e *env) (string, error) {
	const ref = "bench.local/busybox:1"
	layer, err := busyboxLayer()
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	if img, err = mutate.Config(img, v1.Config{Cmd: []string{"/bin/sh"}}); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(e.base, "image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(pw, dir)) }()
	if _, err := e.c.ImportImage(ctx, pr, ref); err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	return ref, nil
}

// busyboxLayer is a layer of the host's static busybox as /bin/busybox,
// /bin/true, /bin/sleep and /bin/sh.
func busyboxLayer() (v1.Layer, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("the image figure needs busybox-static: %w", err)
	}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	hdrs := []*tar.Header{{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))}}
	for _, tool := range []string{"true", "sleep", "sh"} {
		hdrs = append(hdrs, &tar.Header{Name: "bin/" + tool, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Name == "bin/busybox" {
			tw.Write(bb)
		}
	}
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw.Bytes())), nil })
	if err != nil {
		return nil, err
	}
	return layer, nil
}

// tarDir writes the files under dir as a tar to w.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = strings.TrimPrefix(p, dir+"/")
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
