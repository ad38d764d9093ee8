package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// hostTar is a tar stream of the given headers, each regular file with
// content "evil".
func hostTar(t *testing.T, hdrs ...tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = 4
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte("evil"))
		}
	}
	_ = tw.Close()
	return &buf
}

// TestE2EFilesHostile: symlinks and ".." inside the container, hostile tar
// streams, another uid, and a workload that attacks the helper all stay
// inside the sandbox; nothing on the host is read or written.
func TestE2EFilesHostile(t *testing.T) {
	d := tenantDaemon(t, "[limits]\nmax_dir_entries = 100\n")
	c := d.Client()
	ctx := ctxT(t, 180*time.Second)
	ct := running(t, c, ctx, "sleep 600")
	id := ct.GetId()
	bundleConfig := filepath.Join(d.State, "bundles", id, "config.json")
	if _, err := os.Stat(bundleConfig); err != nil {
		t.Fatalf("the bundle's host path: %v", err)
	}
	marker := filepath.Join(os.TempDir(), "nucleus-files-escape-"+id[:8])
	t.Cleanup(func() { _ = os.RemoveAll(marker) })
	execOut(t, ctx, c, id, "ln", "-s", "/", "/tmp/root")
	execOut(t, ctx, c, id, "ln", "-s", bundleConfig, "/tmp/bundle")
	execOut(t, ctx, c, id, "ln", "-s", "/usr/lib", "/tmp/usrlib")
	execOut(t, ctx, c, id, "ln", "-s", filepath.Dir(marker), "/tmp/hosttmp")

	// Reads through symlinks see the container's files, not the host's.
	for _, p := range []string{"/tmp/bundle", "/tmp/root/etc/shadow", "/tmp/../../../etc/shadow", "/tmp/root" + bundleConfig} {
		var out bytes.Buffer
		if _, err := c.ReadFile(ctx, id, p, &out); !errors.Is(err, errdefs.ErrNotFound) || out.Len() != 0 {
			t.Errorf("ReadFile %s: %v, %d bytes; want NotFound and nothing", p, err, out.Len())
		}
		if p == "/tmp/bundle" { // docker cp copies the link itself
			continue
		}
		if _, err := c.CopyFrom(ctx, id, p, io.Discard); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("CopyFrom %s: %v; want NotFound", p, err)
		}
	}
	var link bytes.Buffer
	if _, err := c.CopyFrom(ctx, id, "/tmp/bundle", &link); err != nil {
		t.Fatal(err)
	}
	if h, err := tar.NewReader(&link).Next(); err != nil || h.Typeflag != tar.TypeSymlink || h.Linkname != bundleConfig || h.Size != 0 {
		t.Errorf("CopyFrom of a symlink to the bundle: %+v, %v; want the link only", h, err)
	}
	// Writes through symlinks land in the container or fail there.
	for _, p := range []string{"/tmp/root/evil", "/tmp/usrlib/nucleus-evil", "/tmp/bundle", "/tmp/hosttmp/" + filepath.Base(marker)} {
		_, err := c.WriteFile(ctx, id, p, strings.NewReader("evil"), client.FileOptions{})
		t.Logf("WriteFile %s: %v", p, err)
	}
	if _, err := c.CopyTo(ctx, id, "/tmp/root", hostTar(t, tar.Header{Name: "evil", Typeflag: tar.TypeReg})); err == nil {
		t.Error("CopyTo through a symlink to the container's read-only / succeeded")
	}
	for _, p := range []string{"/evil", "/usr/lib/nucleus-evil", marker} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("a write through a container symlink created the host's %s", p)
		}
	}
	if b, err := os.ReadFile(bundleConfig); err != nil || bytes.Contains(b, []byte("evil")) {
		t.Errorf("the bundle's config.json changed: %v", err)
	}
	// ".." resolves inside the container: /../../tmp is its /tmp.
	if _, err := c.WriteFile(ctx, id, "/../../tmp/dotdot", strings.NewReader("in"), client.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := execOut(t, ctx, c, id, "cat", "/tmp/dotdot"); got != "in" {
		t.Fatalf("/../../tmp/dotdot in the container: %q", got)
	}

	// Hostile tar streams: refused, nothing on the host.
	execOut(t, ctx, c, id, "mkdir", "/tmp/in")
	for name, tr := range map[string]*bytes.Buffer{
		"dotdot":          hostTar(t, tar.Header{Name: "../../../../../../../.." + marker, Typeflag: tar.TypeReg}),
		"absolute":        hostTar(t, tar.Header{Name: marker, Typeflag: tar.TypeReg}),
		"device":          hostTar(t, tar.Header{Name: "mem", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 1}),
		"through symlink": hostTar(t, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: filepath.Dir(marker)}, tar.Header{Name: "l/" + filepath.Base(marker), Typeflag: tar.TypeReg}),
	} {
		if _, err := c.CopyTo(ctx, id, "/tmp/in", tr); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("CopyTo of a %s entry: %v; want InvalidArgument", name, err)
		}
	}
	if _, err := os.Lstat(marker); err == nil {
		t.Errorf("a hostile tar entry created the host's %s", marker)
	}
	if got := execOut(t, ctx, c, id, "ls", "-A", "/tmp/in"); strings.Contains(got, "mem") || strings.Contains(got, "nucleus-files-escape") {
		t.Errorf("a refused entry was extracted: %q", got)
	}

	// The workload can neither remove, replace nor hide the helper.
	for _, script := range []string{"rm -f /.nucleus/nucleus-fs", "cp /bin/sh /.nucleus/nucleus-fs", "mv /.nucleus /moved", "rm -rf /.nucleus",
		"umount -l /.nucleus", "mount -t tmpfs tmpfs /.nucleus", "chmod 777 /.nucleus/nucleus-fs"} {
		var errb bytes.Buffer
		code, err := c.Exec(ctx, client.ExecOptions{ID: id, Args: []string{"/bin/sh", "-c", script}, Stderr: &errb})
		if err != nil || code == 0 {
			t.Errorf("the workload ran %q: code %d, %v", script, code, err)
		}
	}
	if _, err := c.StatFile(ctx, id, "/tmp/dotdot"); err != nil {
		t.Fatalf("the helper after the workload's attempts: %v", err)
	}

	// A flood of entries is refused at [limits] max_dir_entries.
	execOut(t, ctx, c, id, "/bin/sh", "-c", "mkdir /tmp/many && cd /tmp/many && i=0; while [ $i -lt 150 ]; do : > f$i; i=$((i+1)); done")
	if _, err := c.ListDir(ctx, id, "/tmp/many"); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("ListDir of 150 entries over a cap of 100: %v", err)
	}

	// Another uid: NotFound for root's container, its own works.
	res := asTenant(t, d,
		childCall{Op: "readfile", ID: id, Path: "/tmp/dotdot"},
		childCall{Op: "writefile", ID: id, Path: "/tmp/tenant"},
		childCall{Op: "copyfrom", ID: id, Path: "/tmp"},
		childCall{Op: "create", Spec: sh("sleep 600")},
		childCall{Op: "start"},
		childCall{Op: "writefile", Path: "/tmp/mine"},
		childCall{Op: "readfile", Path: "/tmp/mine"},
	)
	for i, r := range res {
		want := ""
		if i < 3 {
			want = "NotFound"
		}
		if r.Kind != want {
			t.Errorf("tenant call %d: %+v, want kind %q", i, r, want)
		}
	}

	// A paused container: FailedPrecondition.
	if _, err := c.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatFile(ctx, id, "/tmp"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("Stat in a paused container: %v", err)
	}
	if _, err := c.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// helperProcs counts nucleus-fs processes in container id.
func helperProcs(t *testing.T, ctx context.Context, c *client.Client, id string) int {
	out := execOut(t, ctx, c, id, "/bin/sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' ; echo")
	return strings.Count(out, "nucleus-fs")
}
