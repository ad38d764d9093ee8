package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// doImageCall runs an image op in the child process of asUser: pull
// (call.ID is the reference; the result's ID is the digest), rmi and
// prune.
func doImageCall(ctx context.Context, c *client.Client, call childCall) (childResult, error) {
	var r childResult
	switch call.Op {
	case "pull":
		img, err := c.PullImage(ctx, call.ID, nil)
		if err == nil {
			r.ID = img.GetDigest()
		}
		return r, err
	case "rmi":
		resp, err := c.RemoveImage(ctx, call.ID, false)
		if err == nil {
			r.ID = resp.GetDeletedDigest()
		}
		return r, err
	default: // prune
		resp, err := c.PruneImages(ctx)
		if err == nil {
			r.IDs = resp.GetDeletedDigests()
		}
		return r, err
	}
}

// TestE2EImagesAccess: every uid may pull from the operator's allowed
// registries and no other; another uid cannot remove root's image but can
// remove its own; an image a container uses is refused removal unless
// forced, and then only when none runs; malformed references are
// InvalidArgument everywhere; pulls and removals are events.
func TestE2EImagesAccess(t *testing.T) {
	testutil.E2E(t)
	reg := startRegistry(t)
	rootRef := reg.push(t, "app:root", imagestest.Image(t, appConfig(), busyboxLayer(t)))
	userRef := reg.push(t, "app:user", imagestest.Image(t, appConfig(), busyboxLayer(t), imagestest.Layer(t, imagestest.File("mine", "user\n"))))
	d := tenantDaemon(t, reg.imagesConfig(t, "allowed_registries = [\""+reg.host+"\"]"))
	c := d.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sub, err := c.Subscribe(ctx, &nucleusv1.EventsRequest{Types: []nucleusv1.EventType{
		nucleusv1.EventType_EVENT_TYPE_IMAGE_PULLED, nucleusv1.EventType_EVENT_TYPE_IMAGE_REMOVED}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	rootImg, err := c.PullImage(ctx, rootRef, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same registry under another name is not on the allowlist.
	other := strings.Replace(userRef, "127.0.0.1", "localhost", 1)
	res := asTenant(t, d,
		childCall{Op: "rmi", ID: rootRef},
		childCall{Op: "pull", ID: other},
		childCall{Op: "pull", ID: userRef},
		childCall{Op: "prune"},
	)
	if res[0].Kind != "PermissionDenied" {
		t.Errorf("another uid removing root's image: %+v, want PermissionDenied", res[0])
	}
	if res[1].Kind != "PermissionDenied" {
		t.Errorf("another uid pulling from %s (not allowed): %+v, want PermissionDenied", other, res[1])
	}
	if res[2].Kind != "" || !strings.HasPrefix(res[2].ID, "sha256:") {
		t.Errorf("another uid pulling from the allowed registry: %+v", res[2])
	}
	if len(res[3].IDs) != 1 || res[3].IDs[0] != res[2].ID {
		t.Errorf("another uid's prune removed %v, want only its own image %s", res[3].IDs, res[2].ID)
	}
	if _, err := c.GetImage(ctx, rootImg.GetDigest()); err != nil {
		t.Errorf("root's image after another uid's rmi and prune: %v", err)
	}

	// In use: refused; forced while running: refused; forced once stopped: removed.
	ct, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Image: rootRef, Args: []string{"sleep 600"}})
	if err != nil {
		t.Fatal(err)
	}
	// The writable layer is fixed at create and within [limits] max_disk.
	if _, err := c.Update(ctx, ct.GetId(), &nucleusv1.Resources{DiskBytes: 64 << 20}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("update of disk_bytes: %v, want InvalidArgument", err)
	}
	if _, err := c.Create(ctx, &nucleusv1.ContainerSpec{Image: rootRef, Resources: &nucleusv1.Resources{DiskBytes: 32 << 30}}); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "max_disk") {
		t.Errorf("create with a 32 GiB layer: %v, want InvalidArgument naming max_disk", err)
	}
	if _, err := c.RemoveImage(ctx, rootRef, false); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("removing an image a container uses: %v, want FailedPrecondition", err)
	}
	if _, err := c.RemoveImage(ctx, rootRef, true); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("force-removing an image a running container uses: %v, want FailedPrecondition", err)
	}
	if _, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: ct.GetId()}); err != nil {
		t.Fatal(err)
	}
	if resp, err := c.RemoveImage(ctx, rootRef, true); err != nil || resp.GetDeletedDigest() != rootImg.GetDigest() {
		t.Errorf("force-removing an image only an exited container uses: %v %v", resp, err)
	}

	// Malformed references are InvalidArgument, on every path.
	for _, bad := range []string{"UPPER/Case", "bad ref!", "a:b:c", strings.Repeat("a", 5000), "reg:5000/app@sha256:nothex"} {
		_, perr := c.PullImage(ctx, bad, nil)
		_, cerr := c.Create(ctx, &nucleusv1.ContainerSpec{Image: bad})
		for what, err := range map[string]error{"pull": perr, "create": cerr} {
			if status.Code(errors.Unwrap(err)) != codes.InvalidArgument && !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("%s %.40q: %v, want InvalidArgument", what, bad, err)
			}
		}
	}
	if _, err := c.GetImage(ctx, ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("get of an empty reference: %v", err)
	}

	// Root's pull and removal are events without a container.
	var got []string
	for len(got) < 2 {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("events: %v (got %v)", err, got)
		}
		e := ev.GetEvent()
		if e.GetAttributes()["owner_uid"] != "0" {
			continue
		}
		if e.GetContainerId() != "" || e.GetAttributes()["image_digest"] != rootImg.GetDigest() {
			t.Errorf("image event %v", e)
		}
		got = append(got, e.GetType().String())
	}
	if strings.Join(got, ",") != "EVENT_TYPE_IMAGE_PULLED,EVENT_TYPE_IMAGE_REMOVED" {
		t.Errorf("image events %v", got)
	}
}
