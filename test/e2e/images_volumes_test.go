package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// TestE2EImagesVolumesAndSecrets: a bind volume (an operator-allowed host
// directory) and a secret work on an image container, whose mount points
// (/data, /run/secrets/token: not in the image) are made in a layer of the
// container's own; two live containers of the image with different volume
// targets do not see each other's mount points; a target that is a
// symlink in the image to /etc resolves inside the container's root
// (the host's /etc is untouched), one that resolves to "/" is refused;
// the image tree on the host is byte-for-byte unchanged afterwards and no
// mount is left once the containers are gone.
func TestE2EImagesVolumesAndSecrets(t *testing.T) {
	testutil.E2E(t)
	reg := startRegistry(t)
	links := imagestest.Layer(t, imagestest.Symlink("etclink", "/etc"), imagestest.Symlink("rootlink", "/"), imagestest.Dir("deep/"), imagestest.Symlink("deep/up", "../../../.."))
	ref := reg.push(t, "test/vols:v1", imagestest.Image(t, appConfig(), busyboxLayer(t), links))
	allowed := cliTempDir(t, "nucleus-image-vols-")
	vol := filepath.Join(allowed, "vol")
	if err := os.Mkdir(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "hostfile"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := StartDaemon(t, DaemonOptions{Config: reg.imagesConfig(t, "") + "[security]\nallowed_host_paths = [\"" + allowed + "\"]\n"})
	c := d.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	img, err := c.PullImage(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(d.Root, "images", "rootfs", strings.TrimPrefix(img.GetDigest(), "sha256:"))
	before := treeDigest(t, tree)
	bind := func(dst string) *nucleusv1.Volume {
		return &nucleusv1.Volume{Type: nucleusv1.VolumeType_VOLUME_TYPE_BIND, Source: vol, Destination: dst}
	}

	// A volume and a secret, both at paths the image lacks.
	got := runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, ImageUser: "root",
		Args:    []string{"cat /data/hostfile && echo written > /data/back && cat /run/secrets/token && echo && ls -d /run/secrets"},
		Volumes: []*nucleusv1.Volume{bind("/data")},
		Secrets: []*nucleusv1.Secret{{Name: "token", Data: []byte("s3cret")}}})
	if want := "from the host\ns3cret\n/run/secrets\n"; got != want {
		t.Errorf("volume and secret on an image container: got %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(vol, "back")); err != nil || string(b) != "written\n" {
		t.Errorf("the container's write through the volume: %q, %v", b, err)
	}
	// The CLI form: run -v HOSTDIR:/data IMAGE.
	if out := ctlOK(t, d, "", "run", "--rm", "-v", vol+":/data:ro", ref, "cat /data/hostfile"); out != "from the host\n" {
		t.Errorf("nucleusctl run -v %s:/data:ro %s: %q", vol, ref, out)
	}

	// Two live containers, different targets: neither sees the other's.
	first, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Image: ref, Args: []string{"sleep 120"}, Volumes: []*nucleusv1.Volume{bind("/only-first")}})
	if err != nil {
		t.Fatal(err)
	}
	got = runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, Volumes: []*nucleusv1.Volume{bind("/only-second")},
		Args: []string{"ls / | grep only- ; cat /only-second/hostfile"}})
	if got != "only-second\nfrom the host\n" {
		t.Errorf("the second container sees %q, want only its own mount point", got)
	}
	res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: first.GetId(), Args: []string{"/bin/sh", "-c", "ls / | grep only-"}})
	if err != nil || string(res.GetStdout()) != "only-first\n" {
		t.Errorf("the first container sees %q (%v), want only its own mount point", res.GetStdout(), err)
	}
	if _, err := c.Delete(ctx, first.GetId(), true); err != nil {
		t.Fatal(err)
	}

	// Hostile targets: symlinks in the image resolve in the container's
	// root, never on the host.
	for _, dst := range []string{"/etclink/nucleus-vol", "/deep/up/etc/nucleus-vol"} {
		got := runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, Volumes: []*nucleusv1.Volume{bind(dst)},
			Args: []string{"cat /etc/nucleus-vol/hostfile; ls /etc"}})
		if !strings.HasPrefix(got, "from the host\n") || !strings.Contains(got, "passwd") {
			t.Errorf("volume at %s: got %q, want it mounted at the image's /etc/nucleus-vol", dst, got)
		}
		if _, err := os.Lstat("/etc/nucleus-vol"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("volume at %s made /etc/nucleus-vol on the host: %v", dst, err)
		}
	}
	for _, dst := range []string{"/rootlink", "/deep/up", "/etclink/../proc/x"} {
		_, err := c.Create(ctx, &nucleusv1.ContainerSpec{Image: ref, Args: []string{"true"}, Volumes: []*nucleusv1.Volume{bind(dst)}})
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("volume at %s (the image's root, or '..'): %v, want InvalidArgument", dst, err)
		}
	}

	if after := treeDigest(t, tree); after != before {
		t.Errorf("the image tree on the host changed")
	}
	deadline := time.Now().Add(20 * time.Second)
	for mountsUnder(t, d.Root) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := mountsUnder(t, d.Root); n > 0 {
		t.Errorf("%d mounts remain under the daemon's root after every container was removed", n)
	}
}
