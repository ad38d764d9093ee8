package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/images"
)

// unpackSamples is how many imports (and tar -x runs) the unpack figure
// times, alternating.
const unpackSamples = 5

// The bench image: benchLayers layers of benchFiles files each, mostly
// small (16 KiB, half random and half text-like, so gzip has work) plus a
// few 4 MiB files: about 70 MiB unpacked, like a slim language image.
const (
	benchLayers = 3
	benchFiles  = 1000
)

// unpackFigure times images.Import of an OCI layout tar (spool, verify,
// store blobs, unpack every layer through openat2, fsync, rename) against
// `tar -xzf` of the same image's flattened tree, in the same run.
func unpackFigure(ctx context.Context, e *env) ([]*Figure, error) {
	dir, err := os.MkdirTemp(e.base, "unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	layoutTar, flatTar, err := writeBenchImage(dir)
	if err != nil {
		return nil, err
	}
	var ours, theirs []time.Duration
	for i := range unpackSamples {
		d, err := timeImport(ctx, filepath.Join(dir, fmt.Sprintf("store-%d", i)), layoutTar)
		if err != nil {
			return nil, err
		}
		ours = append(ours, d)
		d, err = timeTarX(ctx, filepath.Join(dir, fmt.Sprintf("tar-%d", i)), flatTar)
		if err != nil {
			return nil, err
		}
		theirs = append(theirs, d)
	}
	f := &Figure{Key: "8 unpack", Title: fmt.Sprintf("Import + unpack of a %d-layer OCI layout (%d files) vs tar -xzf of its flattened tree", benchLayers, benchLayers*benchFiles)}
	base := timeRow("tar -xzf of the flattened layers", theirs)
	r := timeRow("images.Import (verify, store, safe unpack)", ours).against(base)
	f.Rows = append(f.Rows, base, r.target("ratio <= 1.5", r.Ratio <= 1.5))
	return []*Figure{f}, nil
}

func timeImport(ctx context.Context, root, layoutTar string) (time.Duration, error) {
	defer os.RemoveAll(root)
	s, err := images.Open(root, images.NewMemRecords(), images.Policy{}, zap.NewNop())
	if err != nil {
		return 0, err
	}
	f, err := os.Open(layoutTar)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	if _, err := s.Import(ctx, f, images.Caller{}, nil); err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	return time.Since(start), nil
}

func timeTarX(ctx context.Context, dst, flatTar string) (time.Duration, error) {
	defer os.RemoveAll(dst)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, err
	}
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "tar", "-xzf", flatTar, "-C", dst).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("tar -x: %v: %s", err, out)
	}
	// Import fsyncs what it stores; make tar's files as durable.
	if out, err := exec.CommandContext(ctx, "sync", "-f", dst).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("sync: %v: %s", err, out)
	}
	return time.Since(start), nil
}

// writeBenchImage writes the bench image as an OCI layout tar and its
// flattened tree as one tar.gz (the layers touch disjoint paths, so the
// flattened tree is their concatenation).
func writeBenchImage(dir string) (layoutTar, flatTar string, err error) {
	rng := rand.New(rand.NewPCG(1, 2))
	flatTar = filepath.Join(dir, "flat.tar.gz")
	ff, err := os.Create(flatTar)
	if err != nil {
		return "", "", err
	}
	defer ff.Close()
	fz := gzip.NewWriter(ff)
	flat := tar.NewWriter(fz)
	var blobs []benchBlob
	var diffIDs []string
	for l := range benchLayers {
		raw, gz, err := benchLayer(rng, l, flat)
		if err != nil {
			return "", "", err
		}
		blobs = append(blobs, benchBlob{"application/vnd.oci.image.layer.v1.tar+gzip", gz})
		diffIDs = append(diffIDs, digest(raw))
	}
	if err := flat.Close(); err != nil {
		return "", "", err
	}
	if err := fz.Close(); err != nil {
		return "", "", err
	}
	layoutTar = filepath.Join(dir, "layout.tar")
	return layoutTar, flatTar, writeLayout(layoutTar, blobs, diffIDs)
}

type benchBlob struct {
	mediaType string
	data      []byte
}

// benchLayer makes layer l (uncompressed and gzip) and appends its files
// to flat.
func benchLayer(rng *rand.Rand, l int, flat *tar.Writer) (raw, gz []byte, err error) {
	var rawBuf bufWriter
	tw := tar.NewWriter(&rawBuf)
	both := func(hdr *tar.Header, body []byte) error {
		for _, w := range []*tar.Writer{tw, flat} {
			if err := w.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := w.Write(body); err != nil {
				return err
			}
		}
		return nil
	}
	mtime := time.Unix(1700000000, 0)
	if err := both(&tar.Header{Name: fmt.Sprintf("l%d/", l), Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}, nil); err != nil {
		return nil, nil, err
	}
	for i := range benchFiles {
		size := 16 << 10
		if i%500 == 0 {
			size = 4 << 20
		}
		body := make([]byte, size)
		for j := 0; j < size/2; j++ {
			body[j] = byte(rng.IntN(256))
		}
		for j := size / 2; j < size; j++ {
			body[j] = "abcdefgh \n"[rng.IntN(10)]
		}
		hdr := &tar.Header{Name: fmt.Sprintf("l%d/d%02d/f%05d", l, i%50, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size), ModTime: mtime}
		if i%50 == i {
			dh := &tar.Header{Name: fmt.Sprintf("l%d/d%02d/", l, i), Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}
			if err := both(dh, nil); err != nil {
				return nil, nil, err
			}
		}
		if err := both(hdr, body); err != nil {
			return nil, nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, nil, err
	}
	var gzBuf bufWriter
	zw := gzip.NewWriter(&gzBuf)
	zw.Write(rawBuf.b)
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return rawBuf.b, gzBuf.b, nil
}

// writeLayout writes an OCI image layout tar of one image.
func writeLayout(path string, layers []benchBlob, diffIDs []string) error {
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	desc := func(mt string, b []byte) map[string]any {
		return map[string]any{"mediaType": mt, "digest": digest(b), "size": len(b)}
	}
	var ls []map[string]any
	for _, l := range layers {
		ls = append(ls, desc(l.mediaType, l.data))
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc("application/vnd.oci.image.config.v1+json", config), "layers": ls})
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{desc("application/vnd.oci.image.manifest.v1+json", manifest)}})
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	names := []string{"oci-layout", "index.json"}
	data := [][]byte{[]byte(`{"imageLayoutVersion":"1.0.0"}`), index}
	blobs := [][]byte{config, manifest}
	for _, l := range layers {
		blobs = append(blobs, l.data)
	}
	for _, b := range blobs {
		names, data = append(names, "blobs/sha256/"+digest(b)[7:]), append(data, b)
	}
	for i, name := range names {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data[i]))}); err != nil {
			return err
		}
		if _, err := tw.Write(data[i]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

type bufWriter struct{ b []byte }

func (w *bufWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

var _ io.Writer = (*bufWriter)(nil)
