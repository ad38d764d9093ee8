package e2e

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/testutil"
)

// ociLayoutTar writes img as an OCI image layout tar named ref.
func ociLayoutTar(t *testing.T, img v1.Image, ref string) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	out := cliTempDir(t, "nucleus-import-")
	tarPath := filepath.Join(out, "image.tar")
	f, err := os.Create(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	root := filepath.Join(dir, "layout")
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = strings.TrimPrefix(path, root+"/")
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			src, err := os.Open(path)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tarPath, 0o644); err != nil {
		t.Fatal(err)
	}
	return tarPath
}

// TestE2EImagesImportCLI imports an OCI layout tar with `nucleusctl image
// import`, lists and inspects it, runs it with `nucleusctl run IMAGE` as
// docker would, and removes it with rmi; import and removal are events.
func TestE2EImagesImportCLI(t *testing.T) {
	testutil.E2E(t)
	d := StartDaemon(t, DaemonOptions{})
	archive := ociLayoutTar(t, appImage(t), "example.com/app:v1")
	out := ctlOK(t, d, "", "image", "import", archive)
	if !strings.HasPrefix(out, "sha256:") || !strings.Contains(out, "example.com/app:v1") {
		t.Fatalf("image import printed %q", out)
	}
	digest := strings.Fields(out)[0]
	list := ctlOK(t, d, "", "images")
	if !strings.Contains(list, "REPOSITORY") || !strings.Contains(list, "example.com/app") || !strings.Contains(list, "v1") ||
		!strings.Contains(list, strings.TrimPrefix(digest, "sha256:")[:12]) {
		t.Errorf("images:\n%s", list)
	}
	if q := ctlOK(t, d, "", "images", "-q", "--digests"); strings.TrimSpace(q) != digest {
		t.Errorf("images -q --digests: %q, want %q", q, digest)
	}
	if js := ctlOK(t, d, "", "image", "inspect", "example.com/app:v1"); !strings.Contains(js, `"working_dir": "/home/app"`) || !strings.Contains(js, digest) {
		t.Errorf("image inspect:\n%s", js)
	}
	got := ctlOK(t, d, "", "run", "--rm", "--pull", "never", "-e", "FOO=cli", "example.com/app:v1")
	if want := "cmd\nuid=1234(app) gid=1234(app) groups=1234(app),2000(extra)\n/home/app\na\nhl\nlink\ny\nalpha\nalpha\nFOO=cli BAR=image\n"; got != want {
		t.Errorf("run IMAGE:\n got %q\nwant %q", got, want)
	}
	if got := ctlOK(t, d, "", "run", "--rm", "--entrypoint", "", "-u", "root", "example.com/app:v1", "/bin/id", "-u"); got != "0\n" {
		t.Errorf("run --entrypoint '' -u root: %q", got)
	}
	// The old form still runs a host binary on the default root.
	if got := ctlOK(t, d, "", "run", "--rm", "/bin/echo", "host"); got != "host\n" {
		t.Errorf("run /bin/echo: %q", got)
	}
	if out := ctlOK(t, d, "", "rmi", "example.com/app:v1"); !strings.Contains(out, "Deleted: "+digest) {
		t.Errorf("rmi: %q", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zero := uint64(0)
	sub, err := d.Client().Subscribe(ctx, &nucleusv1.EventsRequest{SinceSequence: &zero, Types: []nucleusv1.EventType{
		nucleusv1.EventType_EVENT_TYPE_IMAGE_IMPORTED, nucleusv1.EventType_EVENT_TYPE_IMAGE_REMOVED}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, want := range []nucleusv1.EventType{nucleusv1.EventType_EVENT_TYPE_IMAGE_IMPORTED, nucleusv1.EventType_EVENT_TYPE_IMAGE_REMOVED} {
		ev, err := sub.Recv()
		if err != nil || ev.GetEvent().GetType() != want || ev.GetEvent().GetAttributes()["image_digest"] != digest {
			t.Errorf("event %v (%v), want %v of %s", ev, err, want, digest)
		}
	}
}

// TestE2EImagesKillDuringPull kills nucleusd -9 in the middle of a pull:
// after the restart no image is listed, no temp file remains, and the same
// pull then succeeds.
func TestE2EImagesKillDuringPull(t *testing.T) {
	testutil.E2E(t)
	reg := startRegistry(t)
	ref := reg.push(t, "app:v1", appImage(t))
	d := StartDaemon(t, DaemonOptions{Config: reg.imagesConfig(t, "")})
	reg.delay.Store(int64(3 * time.Second))
	c := d.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.PullImage(ctx, ref, nil)
		done <- err
	}()
	tmp := filepath.Join(d.Root, "images", "tmp")
	// A small blob's temp file may come and go before the delayed one
	// starts: seeing one is enough, the pull is still waiting for the rest.
	seen := false
	for deadline := time.Now().Add(30 * time.Second); !seen && time.Now().Before(deadline); {
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			seen = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !seen {
		t.Fatal("the pull never wrote to tmp/")
	}
	select {
	case err := <-done:
		t.Fatalf("the pull ended before the kill: %v", err)
	default:
	}
	d.Kill9()
	if err := <-done; err == nil {
		t.Fatal("the pull succeeded although nucleusd was killed")
	}
	reg.delay.Store(0)
	d.Start()
	c = d.Client()
	if imgs, err := c.ListImages(ctx); err != nil || len(imgs) != 0 {
		t.Errorf("after the restart: images %v (%v), want none", imgs, err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("tmp/ still holds %d entries after the restart", len(ents))
	}
	if rootfs, _ := os.ReadDir(filepath.Join(d.Root, "images", "rootfs")); len(rootfs) != 0 {
		t.Errorf("rootfs/ holds %d trees with no record", len(rootfs))
	}
	img, err := c.PullImage(ctx, ref, nil)
	if err != nil {
		t.Fatalf("the same pull after the restart: %v", err)
	}
	if out := runOut(t, c, &nucleusv1.ContainerSpec{Image: img.GetDigest(), Args: []string{"cat /data/a"}}); out != "alpha\n" {
		t.Errorf("running the re-pulled image: %q", out)
	}
}
