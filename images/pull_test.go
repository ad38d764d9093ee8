package images

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

var root0 = Caller{UID: 0}

// checkBusyboxTree checks the unpacked tree is what docker shows for
// busyboxImage: whiteout and opaque dir applied, links kept, ownership
// and modes as in the layers.
func checkBusyboxTree(t *testing.T, dir string) {
	t.Helper()
	for _, gone := range []string{"gone", "old/a", "old/b"} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s should be whited out: %v", gone, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "old/c")); err != nil || string(b) != "c" {
		t.Errorf("old/c = %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "data/abs")); err != nil || l != "/etc/passwd" {
		t.Errorf("data/abs -> %q, %v", l, err)
	}
	a, _ := os.Stat(filepath.Join(dir, "data/hello.txt"))
	b, _ := os.Stat(filepath.Join(dir, "data/hello-link"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Errorf("data/hello-link is not a hard link of data/hello.txt")
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/su")); err != nil || fi.Mode()&os.ModeSetuid == 0 {
		t.Errorf("bin/su lost its setuid bit: %v", fi)
	}
	if fi, err := os.Stat(filepath.Join(dir, "etc/shadow")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("etc/shadow mode: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "home/app")); err != nil {
		t.Error(err)
	} else if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 1000 || st.Gid != 1000 || fi.Mode().Perm() != 0o750) {
		t.Errorf("home/app: uid %d gid %d mode %v, want 1000 1000 0750", st.Uid, st.Gid, fi.Mode().Perm())
	}
}

func TestPullByTagAndDigest(t *testing.T) {
	testutil.RequireRoot(t, "to give unpacked files their owners")
	reg := newTestRegistry(t)
	img := busyboxImage(t)
	ref := reg.push(t, "test/app:v1", img)
	s, _ := openStore(t, testPolicy(reg))
	var reports []Progress
	rec, err := s.Pull(context.Background(), ref, root0, func(p Progress) { reports = append(reports, p) })
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if rec.Digest != want.String() || len(rec.Layers) != 3 || rec.Config.User != "app" || rec.References[0] != ref {
		t.Fatalf("record = %+v", rec)
	}
	if len(reports) == 0 || reports[len(reports)-1].Phase != PhaseDone {
		t.Errorf("progress = %v", reports)
	}
	checkBusyboxTree(t, s.RootFS(rec))
	uid, gid, extra, err := s.ResolveUser(rec, rec.Config.User)
	if err != nil || uid != 1000 || gid != 1000 || len(extra) != 1 || extra[0] != 2000 {
		t.Errorf("ResolveUser(app) = %d %d %v %v", uid, gid, extra, err)
	}
	if _, _, _, err := s.ResolveUser(rec, "nobody"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ResolveUser(nobody) = %v, want InvalidArgument", err)
	}
	// By digest: no download, the same record.
	before := reg.totalGets()
	byDigest := reg.host + "/test/app@" + want.String()
	rec2, err := s.Pull(context.Background(), byDigest, root0, nil)
	if err != nil || rec2.Digest != rec.Digest || reg.totalGets() != before {
		t.Fatalf("pull by digest: %v %v (gets %d → %d)", rec2, err, before, reg.totalGets())
	}
	for _, q := range []string{ref, byDigest, rec.Digest, rec.Digest[7:19]} {
		if got, err := s.Get(q); err != nil || got.Digest != rec.Digest {
			t.Errorf("Get(%s) = %v, %v", q, got, err)
		}
	}
}

func TestPullPrivateNeedsCredentials(t *testing.T) {
	testutil.RequireRoot(t, "to give unpacked files their owners")
	reg := newTestRegistry(t)
	ref := reg.push(t, "private/app:v1", busyboxImage(t))
	s, _ := openStore(t, testPolicy(reg))
	if _, err := s.Pull(context.Background(), ref, root0, nil); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("anonymous pull of a private image = %v, want PermissionDenied", err)
	}
	pol := testPolicy(reg)
	pol.AuthFile = reg.authFile(t)
	s, _ = openStore(t, pol)
	if _, err := s.Pull(context.Background(), ref, root0, nil); err != nil {
		t.Fatalf("pull with the config.json credentials: %v", err)
	}
}

func TestPullPolicyRegistries(t *testing.T) {
	reg := newTestRegistry(t)
	ref := reg.push(t, "test/app:v1", imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("a", "a"))))
	pol := testPolicy(reg)
	pol.AllowedRegistries = nil
	s, root := openStore(t, pol)
	if _, err := s.Pull(context.Background(), ref, Caller{UID: 1000}, nil); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("non-root pull without allowed_registries = %v, want PermissionDenied", err)
	}
	pol.AllowedRegistries = []string{"registry.example"}
	s, root = openStore(t, pol)
	if _, err := s.Pull(context.Background(), ref, root0, nil); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("root pull outside allowed_registries = %v, want PermissionDenied", err)
	}
	if reg.totalGets() != 0 {
		t.Errorf("refused pulls downloaded %d blobs", reg.totalGets())
	}
	pol = testPolicy(reg)
	pol.Insecure = nil
	s, root = openStore(t, pol)
	if _, err := s.Pull(context.Background(), ref, root0, nil); err == nil {
		t.Errorf("pull over http from a registry not listed as insecure succeeded")
	}
	assertEmptyStore(t, root)
}

func TestPullConcurrentSharesDownloads(t *testing.T) {
	testutil.RequireRoot(t, "to give unpacked files their owners")
	reg := newTestRegistry(t)
	img := busyboxImage(t)
	ref := reg.push(t, "test/app:v1", img)
	d, _ := img.Digest()
	s, _ := openStore(t, testPolicy(reg))
	refs := []string{ref, ref, reg.host + "/test/app@" + d.String(), ref}
	var wg sync.WaitGroup
	errs := make([]error, len(refs))
	for i, r := range refs {
		wg.Go(func() { _, errs[i] = s.Pull(context.Background(), r, root0, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		ld, _ := l.Digest()
		if n := reg.gets(ld.String()); n != 1 {
			t.Errorf("layer %s downloaded %d times by %d concurrent pulls, want 1", ld, n, len(refs))
		}
	}
}

func TestPullMissingImage(t *testing.T) {
	reg := newTestRegistry(t)
	s, root := openStore(t, testPolicy(reg))
	if _, err := s.Pull(context.Background(), reg.host+"/test/none:v1", root0, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("pull of a missing image = %v, want NotFound", err)
	}
	if _, err := s.Pull(context.Background(), "UPPER/../bad ref", root0, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("pull of a malformed reference = %v, want InvalidArgument", err)
	}
	assertEmptyStore(t, root)
}

// assertEmptyStore checks a store holds no blob, tree or temp file.
func assertEmptyStore(t *testing.T, root string) {
	t.Helper()
	for _, d := range []string{"tmp", "rootfs", "blobs/sha256"} {
		ents, err := os.ReadDir(filepath.Join(root, d))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 0 {
			t.Errorf("%s/ holds %d entries after a refused or failed pull (first %s)", d, len(ents), ents[0].Name())
		}
	}
}

func TestPullTimeout(t *testing.T) {
	reg := newTestRegistry(t)
	ref := reg.push(t, "test/app:v1", imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("a", "a"))))
	reg.slow = func(w http.ResponseWriter, r *http.Request) bool {
		select { // hang every blob until the client gives up (bounded)
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
		return true
	}
	pol := testPolicy(reg)
	pol.PullTimeout = time.Second
	s, root := openStore(t, pol)
	start := time.Now()
	if _, err := s.Pull(context.Background(), ref, root0, nil); !errors.Is(err, errdefs.ErrDeadlineExceeded) {
		t.Fatalf("a pull past pull_timeout = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the pull stopped after %v, timeout 1s", d)
	}
	assertEmptyStore(t, root)
}

func TestPullThroughMirror(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "test/app:v1", imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("a", "a"))))
	pol := testPolicy(reg)
	pol.AllowedRegistries = []string{"registry.invalid"}
	pol.Mirrors = map[string][]string{"registry.invalid": {"127.0.0.1:1", reg.host}} // a dead mirror first
	pol.Insecure = append(pol.Insecure, "127.0.0.1:1")
	s, _ := openStore(t, pol)
	rec, err := s.Pull(context.Background(), "registry.invalid/test/app:v1", Caller{UID: 1000}, nil)
	if err != nil {
		t.Fatalf("pull through the mirror: %v", err)
	}
	if rec.References[0] != "registry.invalid/test/app:v1" {
		t.Errorf("references = %v, want the name asked for", rec.References)
	}
}

func TestPullPicksHostPlatformFromIndex(t *testing.T) {
	reg := newTestRegistry(t)
	amd := imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("arch", "amd64")))
	arm := imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("arch", "arm64")))
	push := func(tag string, adds ...mutate.IndexAddendum) string {
		ref, _ := name.ParseReference(reg.host+"/test/multi:"+tag, name.Insecure)
		if err := remote.WriteIndex(ref, mutate.AppendManifests(empty.Index, adds...)); err != nil {
			t.Fatal(err)
		}
		return ref.Name()
	}
	plat := func(img v1.Image, arch string) mutate.IndexAddendum {
		return mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}}
	}
	s, _ := openStore(t, testPolicy(reg))
	rec, err := s.Pull(context.Background(), push("both", plat(arm, "arm64"), plat(amd, "amd64")), root0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := amd.Digest(); rec.Digest != want.String() {
		t.Errorf("pulled %s from the index, want the amd64 image %s", rec.Digest, want)
	}
	if _, err := s.Pull(context.Background(), push("armonly", plat(arm, "arm64")), root0, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("an index without linux/amd64 = %v, want NotFound", err)
	}
}
