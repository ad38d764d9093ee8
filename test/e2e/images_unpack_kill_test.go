package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/testutil"
)

// bigImage is busybox under four layers of 3,000 4 KiB files each (48 MiB
// unpacked): long enough to unpack that a kill lands in the middle.
func bigImage(t *testing.T) v1.Image {
	t.Helper()
	layers := []v1.Layer{busyboxLayer(t)}
	for l := range 4 {
		ents := []imagestest.Entry{imagestest.Dir(fmt.Sprintf("big%d/", l))}
		for i := range 3000 {
			body := strings.Repeat(fmt.Sprintf("layer %d file %d\n", l, i), 4096/8)
			ents = append(ents, imagestest.File(fmt.Sprintf("big%d/f%04d", l, i), body[:4096]))
		}
		layers = append(layers, imagestest.Layer(t, ents...))
	}
	return imagestest.Image(t, appConfig(), layers...)
}

// TestE2EImagesKillDuringUnpack: nucleusd is killed (-9) once it reports
// unpacking a big multi-layer image and its half-made tree is on disk;
// after the restart no image is listed, tmp/, rootfs/ and blobs/ hold
// nothing (no partial tree, no unreferenced blob), and the same pull then
// succeeds and a container runs from it.
func TestE2EImagesKillDuringUnpack(t *testing.T) {
	testutil.E2E(t)
	reg := startRegistry(t)
	ref := reg.push(t, "big:v1", bigImage(t))
	d := StartDaemon(t, DaemonOptions{Config: reg.imagesConfig(t, "")})
	c := d.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	unpacking := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		seen := false
		_, err := c.PullImage(ctx, ref, func(p *nucleusv1.PullProgress) {
			if p.GetStatus() == "unpacking" && !seen {
				seen = true
				close(unpacking)
			}
		})
		done <- err
	}()
	select {
	case <-unpacking:
	case err := <-done:
		t.Fatalf("the pull ended (%v) before it reported unpacking", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the pull never reported unpacking")
	}
	// The half-made tree: tmp/unpack-* with files in it.
	imagesDir := filepath.Join(d.Root, "images")
	partial := 0
	for deadline := time.Now().Add(10 * time.Second); partial == 0 && time.Now().Before(deadline); {
		dirs, _ := filepath.Glob(filepath.Join(imagesDir, "tmp", "unpack-*"))
		for _, dir := range dirs {
			ents, _ := os.ReadDir(dir)
			partial += len(ents)
		}
		if partial == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	d.Kill9()
	if partial == 0 {
		t.Fatal("no partial tree was seen under tmp/ while unpacking")
	}
	t.Logf("killed with %d entries in the partial tree's top directory", partial)
	if err := <-done; err == nil {
		t.Fatal("the pull succeeded although nucleusd was killed while unpacking")
	}
	if ents, _ := os.ReadDir(filepath.Join(imagesDir, "rootfs")); len(ents) != 0 {
		t.Logf("note: the kill landed after the tree was placed (%d trees); the restart must still drop it", len(ents))
	}

	d.Start()
	c = d.Client()
	if imgs, err := c.ListImages(ctx); err != nil || len(imgs) != 0 {
		t.Errorf("after the restart: images %v (%v), want none", imgs, err)
	}
	for _, sub := range []string{"tmp", "rootfs", filepath.Join("blobs", "sha256")} {
		if ents, _ := os.ReadDir(filepath.Join(imagesDir, sub)); len(ents) != 0 {
			t.Errorf("images/%s still holds %d entries after the restart (a partial tree or unreferenced blobs)", sub, len(ents))
		}
	}
	img, err := c.PullImage(ctx, ref, nil)
	if err != nil {
		t.Fatalf("the same pull after the restart: %v", err)
	}
	if out := runOut(t, c, &nucleusv1.ContainerSpec{Image: img.GetDigest(), Args: []string{"ls /big3 | wc -l; head -c 15 /big3/f2999"}}); out != "3000\nlayer 3 file 29" {
		t.Errorf("running the re-pulled image: %q", out)
	}
}
