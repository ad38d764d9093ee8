package images

import (
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/zap/zaptest"
)

// testRegistry is go-containerregistry's in-memory registry behind a
// wrapper that requires basic auth under /v2/private/, counts blob GETs
// per digest, and can tamper with blobs.
type testRegistry struct {
	srv  *httptest.Server
	host string

	mu       sync.Mutex
	blobGets map[string]int
	tamper   map[string]func(http.ResponseWriter) // digest → response replacing the blob
	slow     func(w http.ResponseWriter, r *http.Request) bool
}

const regUser, regPass = "nucleus", "s3cret"

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	tr := &testRegistry{blobGets: map[string]int{}, tamper: map[string]func(http.ResponseWriter){}}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/private/") {
			u, p, ok := r.BasicAuth()
			if !ok || u != regUser || p != regPass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}`, http.StatusUnauthorized)
				return
			}
		}
		if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
			d := r.URL.Path[i+len("/blobs/"):]
			tr.mu.Lock()
			tr.blobGets[d]++
			tamper, slow := tr.tamper[d], tr.slow
			tr.mu.Unlock()
			if tamper != nil {
				tamper(w)
				return
			}
			if slow != nil && slow(w, r) {
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

func (tr *testRegistry) push(t testing.TB, repoTag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(tr.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(nil)
	if strings.HasPrefix(repoTag, "private/") {
		auth = remote.WithAuth(basicAuth{})
	}
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.Name()
}

func (tr *testRegistry) gets(digest string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.blobGets[digest]
}

func (tr *testRegistry) totalGets() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, v := range tr.blobGets {
		n += v
	}
	return n
}

// authFile writes a docker config.json with the registry's credentials.
func (tr *testRegistry) authFile(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "config.json")
	a := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass))
	if err := os.WriteFile(p, fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, tr.host, a), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type basicAuth struct{}

func (basicAuth) Authorization() (*authn.AuthConfig, error) {
	return &authn.AuthConfig{Username: regUser, Password: regPass}, nil
}

// testPolicy is a small policy that trusts the test registry over http.
func testPolicy(tr *testRegistry) Policy {
	p := Policy{MaxLayers: 64, MaxFilesPerLayer: 50_000, MaxUnpackedBytes: 256 << 20, MaxCompressedBytes: 128 << 20}
	if tr != nil {
		p.Insecure = []string{tr.host}
		p.AllowedRegistries = []string{tr.host}
	}
	return p
}

// openStore opens a store with in-memory records under a fresh root.
func openStore(t testing.TB, pol Policy) (*Store, string) {
	t.Helper()
	return openStoreAt(t, filepath.Join(t.TempDir(), "images"), pol)
}

// openStoreAt opens (again) the store at root, with no records: what a
// crashed pull left is then garbage that Open must remove.
func openStoreAt(t testing.TB, root string, pol Policy) (*Store, string) {
	t.Helper()
	s, err := Open(root, NewMemRecords(), pol, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}
