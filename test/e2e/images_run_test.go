package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/testutil"
)

// appImage is a three-layer image: busybox and users; then files, a
// hardlink, a symlink and a directory; then a whiteout of one file and an
// opaque directory. USER app, Entrypoint/Cmd/Env/WorkingDir set.
func appImage(t *testing.T) v1.Image {
	t.Helper()
	l2 := imagestest.Layer(t,
		imagestest.Dir("data/"), imagestest.File("data/a", "alpha\n"), imagestest.File("data/b", "beta\n"),
		imagestest.Hardlink("data/hl", "data/a"), imagestest.Symlink("data/link", "/data/a"),
		imagestest.Dir("opt/"), imagestest.Dir("opt/d/"), imagestest.File("opt/d/x", "x\n"),
	)
	l3 := imagestest.Layer(t,
		imagestest.Dir("data/"), imagestest.File("data/.wh.b", ""),
		imagestest.Dir("opt/d/"), imagestest.File("opt/d/.wh..wh..opq", ""), imagestest.File("opt/d/y", "y\n"),
	)
	return imagestest.Image(t, appConfig(), busyboxLayer(t), l2, l3)
}

// appConfig is the runtime config of the test images.
func appConfig() v1.Config {
	return v1.Config{
		Entrypoint: []string{"/bin/sh", "-c"},
		Cmd:        []string{`echo cmd; id; pwd; ls /data; ls /opt/d; cat /data/link /data/hl; echo FOO=$FOO BAR=$BAR`},
		Env:        []string{"PATH=/bin", "FOO=image", "BAR=image"},
		WorkingDir: "/home/app",
		User:       "app",
	}
}

// runOut runs spec attached and returns its stdout, failing on a non-zero
// exit.
func runOut(t *testing.T, c *client.Client, spec *nucleusv1.ContainerSpec) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	spec.AutoRemove = true
	st, _, err := c.Run(ctx, spec, client.RunOptions{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("run %v: %v", spec.GetArgs(), err)
	}
	if st.GetExitCode() != 0 {
		t.Fatalf("run %v: exit %d; stdout %q stderr %q", spec.GetArgs(), st.GetExitCode(), out.String(), errb.String())
	}
	return out.String()
}

// TestE2EImagesPullRun pulls a multi-layer image from a registry served in
// the test (its private repository behind basic auth, with the
// operator's auth file) and runs it: the container sees what docker shows
// for the same image (Entrypoint+Cmd, USER by name with its groups,
// WorkingDir, Env merged with the request winning, whiteouts, an opaque
// directory, a symlink and a hardlink).
func TestE2EImagesPullRun(t *testing.T) {
	testutil.E2E(t)
	reg := startRegistry(t)
	ref := reg.push(t, "private/app:v1", appImage(t))
	d := StartDaemon(t, DaemonOptions{Config: reg.imagesConfig(t, "")})
	c := d.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// nucleusctl pull off a terminal: plain lines per layer, then the digest.
	out := ctlOK(t, d, "", "pull", ref)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[len(lines)-1], "sha256:") || strings.Contains(out, "\x1b[") {
		t.Errorf("nucleusctl pull printed %q, want lines per layer then the digest", out)
	}
	// Stored: no download, but every layer is still reported, cached and
	// complete, before the image.
	var cached []*nucleusv1.PullProgress
	img, err := c.PullImage(ctx, ref, func(p *nucleusv1.PullProgress) { cached = append(cached, p) })
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if len(img.GetLayers()) != 3 || img.GetDigest() != lines[len(lines)-1] {
		t.Fatalf("pulled image: %d layers, digest %q (the CLI printed %q)", len(img.GetLayers()), img.GetDigest(), lines[len(lines)-1])
	}
	if len(cached) != 3 {
		t.Errorf("the pull of a stored image reported %d layers, want 3: %v", len(cached), cached)
	}
	for i, p := range cached {
		if p.GetStatus() != "cached" || p.GetDoneBytes() != p.GetTotalBytes() || p.GetLayerDigest() != img.GetLayers()[i].GetDigest() {
			t.Errorf("the pull of a stored image reported %v for layer %d, want cached with done == total", p, i)
		}
	}
	if out := ctlOK(t, d, "", "pull", ref); strings.Count(out, ": cached ") != 3 {
		t.Errorf("nucleusctl pull of a stored image printed %q, want three cached layers", out)
	}

	got := runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, PullPolicy: nucleusv1.PullPolicy_PULL_POLICY_NEVER})
	want := "cmd\nuid=1234(app) gid=1234(app) groups=1234(app),2000(extra)\n/home/app\na\nhl\nlink\ny\nalpha\nalpha\nFOO=image BAR=image\n"
	if got != want {
		t.Errorf("default run:\n got %q\nwant %q", got, want)
	}
	// The request's args replace Cmd; its env wins over the image's.
	got = runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, Args: []string{"echo FOO=$FOO BAR=$BAR; pwd"}, Env: []string{"FOO=req"}, Cwd: "/tmp"})
	if want := "FOO=req BAR=image\n/tmp\n"; got != want {
		t.Errorf("args and env: got %q, want %q", got, want)
	}
	// --entrypoint replaces Entrypoint (and drops Cmd); --entrypoint ''
	// runs the args alone; --user by name resolves in the image.
	got = runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, Entrypoint: []string{"/bin/echo"}, Args: []string{"via", "entrypoint"}})
	if got != "via entrypoint\n" {
		t.Errorf("entrypoint: got %q", got)
	}
	got = runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, ClearEntrypoint: true, Args: []string{"/bin/id", "-un"}, ImageUser: "root"})
	if got != "root\n" {
		t.Errorf("clear entrypoint, user root: got %q", got)
	}
	// tmpfs volumes mount into the image root (their mount points made in
	// the sandbox's layer, not in the shared tree); binds: see
	// TestE2EImagesVolumesAndSecrets.
	got = runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, ImageUser: "root",
		Args:    []string{"echo v > /scratch/f && cat /scratch/f"},
		Volumes: []*nucleusv1.Volume{{Type: nucleusv1.VolumeType_VOLUME_TYPE_TMPFS, Destination: "/scratch", SizeBytes: 1 << 20}}})
	if got != "v\n" {
		t.Errorf("tmpfs volume: got %q", got)
	}
	ct, err := c.Create(ctx, &nucleusv1.ContainerSpec{Image: ref})
	if err != nil {
		t.Fatal(err)
	}
	if ct.GetImageDigest() != img.GetDigest() || ct.GetResolvedProcess().GetUser().GetUid() != 1234 || ct.GetResolvedProcess().GetCwd() != "/home/app" {
		t.Errorf("container record: digest %q (want %q), resolved %v", ct.GetImageDigest(), img.GetDigest(), ct.GetResolvedProcess())
	}
	if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
		t.Fatal(err)
	}
}
