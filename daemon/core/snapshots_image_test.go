package core

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/snapshots"
)

// fakeImages resolves digests from a map and records what it was asked.
type fakeImages struct {
	trees  map[string]string // digest → tree
	asked  []string
	policy []nucleusv1.PullPolicy
}

func (f *fakeImages) Resolve(_ context.Context, _ auth.Identity, ref string, p nucleusv1.PullPolicy) (*ResolvedImage, error) {
	f.asked, f.policy = append(f.asked, ref), append(f.policy, p)
	tree, ok := f.trees[ref]
	if !ok {
		return nil, errdefs.NotFound("image %q not found", ref)
	}
	// A config that applyImage would apply again (and get wrong).
	return &ResolvedImage{Digest: ref, RootFS: tree, Entrypoint: []string{"/bin/sh", "-c"}, User: "app"}, nil
}

func (f *fakeImages) ResolveUser(*ResolvedImage, string) (uint32, uint32, []uint32, error) {
	return 0, 0, nil, errors.New("a restore must not resolve the user again")
}

const testDigest = "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

// TestPinnedImageKeepsTheSnapshotSpec: a restore looks the image up by
// its pinned digest only (never a pull), keeps the recorded effective
// spec as it is (args, user, image_user: nothing applied twice) and gets
// the recorded overlay size; a removed image is a clear
// FailedPrecondition.
func TestPinnedImageKeepsTheSnapshotSpec(t *testing.T) {
	d := storeDaemon(t)
	imgs := &fakeImages{trees: map[string]string{testDigest: "/var/lib/nucleus/images/rootfs/ab12"}}
	d.UseImages(imgs)
	spec := &nucleusv1.ContainerSpec{
		Image: "registry.example/app:v1@" + testDigest, ImageUser: "root",
		Args: []string{"/bin/sh", "-c", "sleep 1"}, User: &nucleusv1.User{Uid: 0, Gid: 0},
		Resources: &nucleusv1.Resources{DiskBytes: 8 << 20},
	}
	got, root, err := d.pinnedImage(context.Background(), rootCaller, spec)
	if err != nil {
		t.Fatal(err)
	}
	if got != spec || strings.Join(got.GetArgs(), " ") != "/bin/sh -c sleep 1" {
		t.Errorf("the spec changed: %v", got)
	}
	if root.Dir != imgs.trees[testDigest] || root.DiskBytes != 8<<20 {
		t.Errorf("root %+v, want the image tree and the recorded 8 MiB", root)
	}
	if len(imgs.asked) != 1 || imgs.asked[0] != testDigest || imgs.policy[0] != nucleusv1.PullPolicy_PULL_POLICY_NEVER {
		t.Errorf("asked %v with %v, want the digest alone, never pulled", imgs.asked, imgs.policy)
	}

	spec.Resources = nil // a snapshot from before the size was pinned
	if _, root, err = d.pinnedImage(context.Background(), rootCaller, spec); err != nil || root.DiskBytes != int64(d.cfg.Defaults.Disk) {
		t.Errorf("no recorded size: %+v %v, want the default", root, err)
	}

	spec.Resources = &nucleusv1.Resources{DiskBytes: 1 << 50} // over max_disk
	if _, _, err = d.pinnedImage(context.Background(), tenantCaller, spec); err == nil || !strings.Contains(err.Error(), "max_disk") {
		t.Errorf("a recorded disk over the ceiling, restored by a tenant: %v, want refused", err)
	}
	delete(imgs.trees, testDigest)
	_, _, err = d.pinnedImage(context.Background(), rootCaller, spec)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "no longer on this host") {
		t.Errorf("removed image: %v, want FailedPrecondition saying so", err)
	}
}

// TestImageUsageCountsSnapshots: a snapshot of an image container holds
// the image (and names its owner); one of a host-root container, or one
// whose spec cannot be decoded (never restorable), holds none.
func TestImageUsageCountsSnapshots(t *testing.T) {
	d := storeDaemon(t)
	put := func(id string, owner uint32, spec []byte) {
		t.Helper()
		if err := d.store.PutSnapshot(&snapshots.Record{ID: id, Name: id, OwnerUID: owner, Spec: spec}); err != nil {
			t.Fatal(err)
		}
	}
	enc := func(s *nucleusv1.ContainerSpec) []byte {
		b, err := protojson.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put("a", 1000, enc(&nucleusv1.ContainerSpec{Image: "registry.example/app:v1@" + testDigest}))
	put("b", 2000, enc(&nucleusv1.ContainerSpec{Image: testDigest}))
	put("c", 1000, enc(&nucleusv1.ContainerSpec{Args: []string{"/bin/true"}}))
	put("d", 1000, []byte("{not json"))
	use, err := d.ImageUsage()
	if err != nil {
		t.Fatal(err)
	}
	u := use[testDigest]
	if u.Snapshots != 2 || u.Containers != 0 || u.Running != 0 || len(u.Owners) != 2 || len(use) != 1 {
		t.Errorf("usage %+v (all: %v), want 2 snapshots of uids 1000 and 2000", u, use)
	}
}
