package images

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
)

func TestRemoveAndPrune(t *testing.T) {
	s, root := openStore(t, testPolicy(nil))
	shared := imagestest.Layer(t, imagestest.File("base", "b"))
	importAs := func(ref string, uid uint32, extra string) *Record {
		img := imagestest.Image(t, v1Config(), shared, imagestest.Layer(t, imagestest.File("x", extra)))
		recs, err := s.Import(context.Background(), bytes.NewReader(ociLayoutTar(t, img, ref)), Caller{UID: uid}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return recs[0]
	}
	a := importAs("registry.example/a:v1", 1000, "a")
	importAs("registry.example/a:v2", 1000, "a") // same image, second tag
	b := importAs("registry.example/b:v1", 2000, "b")
	if fi, err := os.Stat(s.RootFS(b)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("an image without a / entry has a root of mode %v (%v), want 0755", fi.Mode(), err)
	}

	// Another user may not remove it; a running container blocks even force.
	if _, err := s.Remove(a.Digest, RemoveOptions{Caller: Caller{UID: 2000}}); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("uid 2000 removing uid 1000's image = %v, want PermissionDenied", err)
	}
	running := func(string) Usage { return Usage{Containers: 1, Running: 1, Owners: []uint32{1000}} }
	if _, err := s.Remove(a.Digest, RemoveOptions{Caller: root0, Force: true, Usage: running}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("force-removing an image a running container uses = %v, want FailedPrecondition", err)
	}
	stopped := func(string) Usage { return Usage{Containers: 1, Owners: []uint32{3000}} }
	if _, err := s.Remove(a.Digest, RemoveOptions{Caller: Caller{UID: 1000}, Usage: stopped}); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("removing an image another user's container uses = %v, want PermissionDenied", err)
	}
	// One tag of two: untag only.
	res, err := s.Remove("registry.example/a:v1", RemoveOptions{Caller: Caller{UID: 1000}})
	if err != nil || res.Deleted != nil || len(res.Untagged) != 1 {
		t.Fatalf("untag = %+v, %v", res, err)
	}
	if _, err := s.Get("registry.example/a:v1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("the removed tag still resolves: %v", err)
	}
	res, err = s.Remove("registry.example/a:v2", RemoveOptions{Caller: Caller{UID: 1000}})
	if err != nil || res.Deleted == nil {
		t.Fatalf("remove = %+v, %v", res, err)
	}
	if _, err := os.Stat(s.RootFS(a)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed image's tree remains: %v", err)
	}
	// The shared base layer stays for b.
	if !s.hasBlob(b.Layers[0].Digest) || s.hasBlob(a.Layers[1].Digest) {
		t.Errorf("blobs after remove: shared %v, a's own %v", s.hasBlob(b.Layers[0].Digest), s.hasBlob(a.Layers[1].Digest))
	}
	// A snapshot holds b: neither remove (even forced) nor prune takes it.
	snapshot := func(string) Usage { return Usage{Snapshots: 1, Owners: []uint32{2000}} }
	for _, force := range []bool{false, true} {
		if _, err := s.Remove(b.Digest, RemoveOptions{Caller: root0, Force: force, Usage: snapshot}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("removing (force=%v) an image a snapshot holds = %v, want FailedPrecondition", force, err)
		}
	}
	if out, err := s.Prune(root0, snapshot); err != nil || len(out) != 0 {
		t.Errorf("prune of an image a snapshot holds = %v, %v", out, err)
	}
	// Prune as uid 1000 leaves uid 2000's image; as root removes it.
	if out, err := s.Prune(Caller{UID: 1000}, nil); err != nil || len(out) != 0 {
		t.Errorf("prune as 1000 = %v, %v", out, err)
	}
	if out, err := s.Prune(root0, nil); err != nil || len(out) != 1 {
		t.Errorf("prune as root = %v, %v", out, err)
	}
	assertEmptyStore(t, root)
}

func TestTagMovesAReference(t *testing.T) {
	s, _ := openStore(t, testPolicy(nil))
	var digests []string
	for _, body := range []string{"one", "two"} {
		img := imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("x", body)))
		recs, err := s.Import(context.Background(), bytes.NewReader(dockerSaveTar(t, img, "registry.example/"+body+":v1")), root0, nil)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, recs[0].Digest)
	}
	if _, err := s.Tag(digests[0], "app:latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag("registry.example/two:v1", "app"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("app")
	if err != nil || got.Digest != digests[1] {
		t.Fatalf("app:latest = %v, %v; want image two", got, err)
	}
	if one, _ := s.Get(digests[0]); len(one.References) != 1 {
		t.Errorf("image one kept the moved tag: %v", one.References)
	}
	if _, err := s.Tag(digests[0], "Bad Ref"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Tag with a malformed reference = %v", err)
	}
}
