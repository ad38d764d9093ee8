package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ent is one tar entry of a test layer.
type ent struct {
	name, body, link string
	typ              byte
	mode             int64
	uid, gid         int
	pax              map[string]string
}

func file(name, body string) ent { return ent{name: name, body: body, typ: tar.TypeReg, mode: 0o644} }
func dir(name string) ent        { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) ent {
	return ent{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, to string) ent { return ent{name: name, link: to, typ: tar.TypeLink, mode: 0o644} }

// tarOf is the uncompressed tar of ents.
func tarOf(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: time.Unix(1700000000, 0), PAXRecords: e.pax, Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// layerOf is a gzip ggcr layer of ents.
func layerOf(t testing.TB, ents ...ent) v1.Layer {
	t.Helper()
	blob := gz(t, tarOf(t, ents...))
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageOf is an image of layers with cfg as its runtime config.
func imageOf(t testing.TB, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// busyboxImage is a three-layer image: busybox and an /etc/passwd with a
// non-root user; then files, a symlink, a hardlink and a dir; then a
// whiteout and an opaque directory over them.
func busyboxImage(t testing.TB) v1.Image {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("this test needs Debian's busybox-static (/bin/busybox): %v", err)
	}
	base := []ent{dir("bin/"), {name: "bin/busybox", body: string(bb), typ: tar.TypeReg, mode: 0o755},
		symlink("bin/sh", "busybox"), dir("etc/"),
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"),
		file("etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n"),
		{name: "etc/shadow", body: "root:*:1::::::\n", typ: tar.TypeReg, mode: 0o600},
		dir("home/"), {name: "home/app/", typ: tar.TypeDir, mode: 0o750, uid: 1000, gid: 1000},
		dir("old/"), file("old/a", "a"), file("old/b", "b"), file("gone", "x")}
	mid := []ent{file("data/hello.txt", "hello\n"), hardlink("data/hello-link", "data/hello.txt"),
		symlink("data/abs", "/etc/passwd"), {name: "bin/su", body: "suid", typ: tar.TypeReg, mode: 0o4755}}
	top := []ent{file(".wh.gone", ""), dir("old/"), file("old/.wh..wh..opq", ""), file("old/c", "c")}
	return imageOf(t, v1.Config{User: "app", Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"},
		Env: []string{"PATH=/bin", "A=1"}, WorkingDir: "/home/app"},
		layerOf(t, base...), layerOf(t, mid...), layerOf(t, top...))
}

func v1Config() v1.Config { return v1.Config{Cmd: []string{"/bin/sh"}} }
