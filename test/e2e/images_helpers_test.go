package e2e

import (
	"archive/tar"
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
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"nucleus.dev/nucleus/images/imagestest"
)

// busyboxLayer is a base layer with the host's static busybox as /bin/sh
// and friends, an /etc/passwd and /etc/group naming user app (1234) in
// groups app (1234) and extra (2000), and app's home.
func busyboxLayer(t testing.TB) v1.Layer {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed (/bin/busybox): %v", err)
	}
	ents := []imagestest.Entry{imagestest.Dir("bin/"), {Name: "bin/busybox", Body: string(bb), Type: tar.TypeReg, Mode: 0o755}}
	for _, tool := range []string{"sh", "cat", "echo", "id", "ls", "pwd", "env", "touch", "dd", "df", "rm", "mkdir", "sleep", "head", "stat", "true", "wc", "sync", "readlink"} {
		ents = append(ents, imagestest.Symlink("bin/"+tool, "busybox"))
	}
	ents = append(ents,
		imagestest.Dir("etc/"),
		imagestest.File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:app:/home/app:/bin/sh\n"),
		imagestest.File("etc/group", "root:x:0:\napp:x:1234:\nextra:x:2000:app\n"),
		imagestest.Dir("tmp/"), imagestest.Dir("home/"),
		imagestest.Entry{Name: "home/app/", Type: tar.TypeDir, Mode: 0o755, UID: 1234, GID: 1234},
	)
	return imagestest.Layer(t, ents...)
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
