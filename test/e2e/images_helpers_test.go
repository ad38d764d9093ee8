package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tent is one tar entry of a test layer.
type tent struct {
	name, body, link string
	typ              byte
	mode             int64
	uid, gid         int
}

func tfile(name, body string) tent {
	return tent{name: name, body: body, typ: tar.TypeReg, mode: 0o644}
}
func tdir(name string) tent { return tent{name: name, typ: tar.TypeDir, mode: 0o755} }
func tlink(name, to string) tent {
	return tent{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
}
func thard(name, to string) tent { return tent{name: name, link: to, typ: tar.TypeLink, mode: 0o644} }

// tlayer is a gzip layer of ents.
func tlayer(t testing.TB, ents ...tent) v1.Layer {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range ents {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
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
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(raw.Bytes())
	zw.Close()
	blob := zb.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// timage is an image of layers with cfg as its runtime config.
func timage(t testing.TB, cfg v1.Config, layers ...v1.Layer) v1.Image {
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
	cf.Created = v1.Time{Time: time.Unix(1700000000, 0).UTC()}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// busyboxLayer is a base layer with the host's static busybox as /bin/sh
// and friends, an /etc/passwd and /etc/group naming user app (1234) in
// groups app (1234) and extra (2000), and app's home.
func busyboxLayer(t testing.TB) v1.Layer {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed (/bin/busybox): %v", err)
	}
	ents := []tent{tdir("bin/"), {name: "bin/busybox", body: string(bb), typ: tar.TypeReg, mode: 0o755}}
	for _, tool := range []string{"sh", "cat", "echo", "id", "ls", "pwd", "env", "touch", "dd", "df", "rm", "mkdir", "sleep", "head", "stat", "true", "wc", "sync", "readlink"} {
		ents = append(ents, tlink("bin/"+tool, "busybox"))
	}
	ents = append(ents,
		tdir("etc/"),
		tfile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:app:/home/app:/bin/sh\n"),
		tfile("etc/group", "root:x:0:\napp:x:1234:\nextra:x:2000:app\n"),
		tdir("tmp/"), tdir("home/"),
		tent{name: "home/app/", typ: tar.TypeDir, mode: 0o755, uid: 1234, gid: 1234},
	)
	return tlayer(t, ents...)
}

// testRegistry is go-containerregistry's registry served on loopback,
// requiring basic auth under /v2/private/.
type testRegistry struct {
	srv   *httptest.Server
	host  string // 127.0.0.1:port
	delay atomic.Int64
}

const regUser, regPass = "nucleus", "s3cret"

func startRegistry(t testing.TB) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/v2/private/") {
			u, p, ok := req.BasicAuth()
			if !ok || u != regUser || p != regPass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}`, http.StatusUnauthorized)
				return
			}
		}
		if d := time.Duration(r.delay.Load()); d > 0 && strings.Contains(req.URL.Path, "/blobs/") && req.Method == http.MethodGet {
			time.Sleep(d)
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// push uploads img as repo:tag ("app:v1") and returns the full reference.
func (r *testRegistry) push(t testing.TB, repoTag string, img v1.Image) string {
	t.Helper()
	ref := r.host + "/" + repoTag
	n, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.Anonymous
	if strings.HasPrefix(repoTag, "private/") {
		auth = &authn.Basic{Username: regUser, Password: regPass}
	}
	if err := remote.Write(n, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

// authFile writes a docker config.json with the registry's credentials.
func (r *testRegistry) authFile(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "auth.json")
	cred := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass))
	if err := os.WriteFile(p, []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, r.host, cred)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// imagesConfig is the [images] section pointing the daemon at r.
func (r *testRegistry) imagesConfig(t testing.TB, extra string) string {
	dir := t.TempDir()
	return fmt.Sprintf("[images]\ninsecure_registries = [%q]\nauth_file = %q\n%s\n", r.host, r.authFile(t, dir), extra)
}
