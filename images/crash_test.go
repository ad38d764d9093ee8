package images

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/testutil"
)

// The crash tests re-run this test binary as a child that pulls or
// imports into a store, kill -9 it midway, and then check that Open
// removes every partial file and that the same image then comes in whole.
const childEnv = "NUCLEUS_IMAGES_CRASH_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(crashChild(mode))
	}
	os.Exit(m.Run())
}

// crashChild pulls NUCLEUS_IMAGES_REF ("pull") or imports the file
// NUCLEUS_IMAGES_TAR ("import") into the store at NUCLEUS_IMAGES_ROOT.
func crashChild(mode string) int {
	pol := Policy{Insecure: []string{os.Getenv("NUCLEUS_IMAGES_REGISTRY")}}
	s, err := Open(os.Getenv("NUCLEUS_IMAGES_ROOT"), NewMemRecords(), pol, zap.NewNop())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch mode {
	case "pull":
		_, err = s.Pull(context.Background(), os.Getenv("NUCLEUS_IMAGES_REF"), root0, nil)
	case "import":
		var f *os.File
		if f, err = os.Open(os.Getenv("NUCLEUS_IMAGES_TAR")); err == nil {
			_, err = s.Import(context.Background(), f, root0, nil)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the child exited and was reaped
}

// startChild starts the child in mode with env.
func startChild(t *testing.T, mode string, env ...string) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+mode)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("child stderr: %s", stderr.String())
		}
	})
	return c
}

// killWhen polls (every 10 ms, at most 30 s) until ready() and then kills
// the child with SIGKILL.
func killWhen(t *testing.T, c *child, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		select {
		case <-c.done:
			t.Fatalf("the child exited before %s", what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child never reached %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

// tmpHas reports whether tmp/ holds an entry named prefix* that ok accepts.
func tmpHas(root, prefix string, ok func(string) bool) bool {
	ents, _ := os.ReadDir(filepath.Join(root, "tmp"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && ok(filepath.Join(root, "tmp", e.Name())) {
			return true
		}
	}
	return false
}

func TestCrashDuringPull(t *testing.T) {
	testutil.RequireRoot(t, "to give unpacked files their owners")
	reg := newTestRegistry(t)
	big := make([]byte, 4<<20)
	rand.Read(big) // incompressible: the layer blob is as big
	img := imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("small", "s")), imagestest.Layer(t, imagestest.File("big", string(big))))
	ref := reg.push(t, "test/app:v1", img)
	layers, _ := img.Layers()
	bigDigest, _ := layers[1].Digest()
	rc, _ := layers[1].Compressed()
	blob, _ := io.ReadAll(rc)
	release := make(chan struct{})
	reg.slow = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, bigDigest.String()) {
			return false
		}
		select {
		case <-release:
			return false
		default:
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(blob)))
		w.Write(blob[:len(blob)/2]) // half a download, then hang until the client dies
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return true
	}
	root := filepath.Join(t.TempDir(), "images")
	child := startChild(t, "pull", "NUCLEUS_IMAGES_ROOT="+root, "NUCLEUS_IMAGES_REF="+ref, "NUCLEUS_IMAGES_REGISTRY="+reg.host)
	killWhen(t, child, "the middle of a layer download", func() bool {
		return tmpHas(root, "blob-", func(p string) bool { fi, err := os.Stat(p); return err == nil && fi.Size() > 0 })
	})
	close(release)
	s, _ := openStoreAt(t, root, testPolicy(reg))
	assertEmptyStore(t, root)
	if _, err := s.Pull(context.Background(), ref, root0, nil); err != nil {
		t.Fatalf("the pull after the crash: %v", err)
	}
}

func TestCrashDuringUnpack(t *testing.T) {
	testutil.RequireRoot(t, "to give unpacked files their owners")
	var ents []imagestest.Entry
	for i := range 30_000 {
		ents = append(ents, imagestest.File(fmt.Sprintf("f/%05d", i), "x"))
	}
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(tarPath, ociLayoutTar(t, imagestest.Image(t, v1Config(), imagestest.Layer(t, ents...)), "registry.example/app:v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "images")
	child := startChild(t, "import", "NUCLEUS_IMAGES_ROOT="+root, "NUCLEUS_IMAGES_TAR="+tarPath)
	killWhen(t, child, "the middle of an unpack", func() bool {
		return tmpHas(root, "unpack-", func(p string) bool { e, _ := os.ReadDir(filepath.Join(p, "f")); return len(e) > 100 })
	})
	s, _ := openStoreAt(t, root, testPolicy(nil))
	assertEmptyStore(t, root)
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := s.Import(context.Background(), f, root0, nil)
	if err != nil {
		t.Fatalf("the import after the crash: %v", err)
	}
	if e, _ := os.ReadDir(filepath.Join(s.RootFS(recs[0]), "f")); len(e) != 30_000 {
		t.Errorf("the image has %d files, want 30000", len(e))
	}
}
