package e2e

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

const nobody, nogroup = 65534, 65534

// TestE2EAccessNonRootCaller: a uid outside the socket group is refused by
// SO_PEERCRED even when the socket is world-writable; a member of the
// group is confined to its own containers and to no host paths.
func TestE2EAccessNonRootCaller(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[api]\nsocket_group = \"nogroup\"\n"})
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	rootCt, err := c.Create(ctx, sh("sleep 30"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d.Socket); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode = %v, %v; want 0660", fi.Mode().Perm(), err)
	}

	// Not in the group (uid 65534 with gid 1): the socket's mode keeps it
	// out, and with the socket chmod 666, SO_PEERCRED does.
	stranger := asUser(t, d.Socket, nobody, 1, []uint32{1}, childCall{Op: "list"})
	if stranger[0].Kind == "" {
		t.Fatalf("a caller outside the group listed containers: %+v", stranger[0])
	}
	if err := os.Chmod(d.Socket, 0o666); err != nil {
		t.Fatal(err)
	}
	stranger = asUser(t, d.Socket, nobody, 1, []uint32{1}, childCall{Op: "list"}, childCall{Op: "create", Spec: sh("true")})
	for _, r := range stranger {
		if r.Kind != "PermissionDenied" {
			t.Errorf("caller outside the group after chmod 666: %+v, want PermissionDenied", r)
		}
	}
	if err := os.Chmod(d.Socket, 0o660); err != nil {
		t.Fatal(err)
	}

	// In the group: its own containers only, no host paths.
	bind := sh("true")
	bind.Volumes = []*nucleusv1.Volume{{Type: nucleusv1.VolumeType_VOLUME_TYPE_BIND, Source: "/tmp", Destination: "/data"}}
	hostRoot := sh("true")
	hostRoot.Rootfs = "/"
	member := asUser(t, d.Socket, nobody, nogroup, []uint32{nogroup},
		childCall{Op: "info"},
		childCall{Op: "create", Spec: sh("sleep 30")},
		childCall{Op: "list"},
		childCall{Op: "get", ID: rootCt.GetId()},
		childCall{Op: "delete", ID: rootCt.GetId()},
		childCall{Op: "create", Spec: bind},
		childCall{Op: "create", Spec: hostRoot},
	)
	if member[0].Kind != "" || member[0].UID != nobody {
		t.Errorf("info as member: %+v, want caller uid %d", member[0], nobody)
	}
	if member[1].Kind != "" || member[1].ID == "" {
		t.Fatalf("create as member: %+v", member[1])
	}
	own := member[1].ID
	if !slices.Equal(member[2].IDs, []string{own}) {
		t.Errorf("member lists %v, want only its own %s", member[2].IDs, own)
	}
	for i, r := range member[3:5] {
		if r.Kind != "NotFound" {
			t.Errorf("call %d on root's container: %+v, want NotFound", i+3, r)
		}
	}
	for i, r := range member[5:7] {
		if r.Kind != "PermissionDenied" {
			t.Errorf("host path call %d: %+v, want PermissionDenied", i+5, r)
		}
	}
	// Root sees both, and the member's container is recorded as its own.
	got, err := c.Get(ctx, own)
	if err != nil || got.GetOwnerUid() != nobody {
		t.Fatalf("root get of the member's container: %v %v", got, err)
	}
	if _, err := c.Get(ctx, rootCt.GetId()); err != nil {
		t.Fatalf("root's container after the member's delete attempt: %v", err)
	}
	list, err := c.List(ctx, nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("root lists %d containers (%v), want 2", len(list), err)
	}
}

// TestE2EHookPathsRefused: no API caller may name a hook binary.
func TestE2EHookPathsRefused(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 30*time.Second)
	spec := sh("true")
	spec.HookPaths = []string{"/bin/touch"}
	if _, err := c.Create(ctx, spec); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("create with hook_paths: %v, want PermissionDenied", err)
	}
	spec = sh("true")
	spec.HookSet = "nope"
	if _, err := c.Create(ctx, spec); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("create with an unknown hook set: %v, want InvalidArgument", err)
	}
	if list, _ := c.List(ctx, nil); len(list) != 0 {
		t.Fatalf("refused creates left records: %v", list)
	}
}
