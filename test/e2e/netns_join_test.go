package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/network/nettest"
	sandboxnetns "nucleus.dev/nucleus/sandbox/netns"
)

// TestE2ENetnsJoin: a container joins an existing network namespace (a
// Kubernetes pod's, here one the test made with a veth into a second
// namespace running an HTTP server) and fetches from the server; bad
// paths are INVALID_ARGUMENT, another dir or another uid PERMISSION_DENIED,
// a second joiner FAILED_PRECONDITION, and none of them leaves anything;
// a kill -9 and restart of nucleusd keeps the container's network;
// deleting the container leaves the namespace pinned with its interface.
func TestE2ENetnsJoin(t *testing.T) {
	testutil.E2E(t)
	testutil.RequireRoot(t, "the test makes network namespaces and veths")
	dir := t.TempDir()
	nsDir, otherDir := filepath.Join(dir, "netns"), filepath.Join(dir, "other")
	for _, p := range []string{nsDir, otherDir} {
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pod, outside := filepath.Join(nsDir, "pod"), filepath.Join(otherDir, "pod")
	for _, p := range []string{pod, outside} {
		if err := sandboxnetns.Create(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sandboxnetns.Remove(p) })
	}
	// pod: uplink0 198.51.100.1/24, default route to the "internet"
	// namespace, whose HTTP server answers on 192.0.2.10:80.
	in := nettest.NewInternet(t, nettest.Options{DaemonNetns: pod, Dir: dir})
	nettest.NewInternet(t, nettest.Options{DaemonNetns: outside, Dir: otherDir})
	regular := filepath.Join(nsDir, "regular")
	if err := os.WriteFile(regular, []byte("not a namespace"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := StartDaemon(t, DaemonOptions{Config: fmt.Sprintf("[api]\nsocket_group = \"nogroup\"\n[network]\njoinable_namespace_dirs = [%q]\n", nsDir)})
	e := &netEnv{d: d, c: d.Client(), in: in}
	ctx := ctxT(t, 3*time.Minute)
	joined := func(path string) *nucleusv1.ContainerSpec {
		return &nucleusv1.ContainerSpec{Args: []string{"sleep", "600"}, NetworkNamespace: path}
	}

	for _, c := range []struct {
		name string
		spec *nucleusv1.ContainerSpec
		want error
	}{
		{"regular file", joined(regular), errdefs.ErrInvalidArgument},
		{"mount namespace", joined("/proc/self/ns/mnt"), errdefs.ErrInvalidArgument},
		{"nonexistent", joined(filepath.Join(nsDir, "missing")), errdefs.ErrInvalidArgument},
		{"relative", joined("netns/pod"), errdefs.ErrInvalidArgument},
		{"outside joinable_namespace_dirs", joined(outside), errdefs.ErrPermissionDenied},
		{"with network egress", &nucleusv1.ContainerSpec{Args: []string{"true"}, NetworkNamespace: pod, Network: "egress"}, errdefs.ErrInvalidArgument},
	} {
		if _, err := e.c.Create(ctx, c.spec); !errors.Is(err, c.want) {
			t.Errorf("%s: create err = %v, want %v", c.name, err, c.want)
		}
	}
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if r := asUser(t, d.Socket, nobody, nogroup, []uint32{nogroup}, childCall{Op: "create", Spec: joined(pod)}); r[0].Kind != "PermissionDenied" {
		t.Errorf("non-root create joining the pod namespace: %+v, want PermissionDenied", r[0])
	}
	if list, err := e.c.List(ctx, nil); err != nil || len(list) != 0 {
		t.Fatalf("after the refused creates: %d containers (%v), want none", len(list), err)
	}
	if left := d.Leftovers(); len(left) != 0 {
		t.Fatalf("the refused creates left %v", left)
	}

	ctr := e.run(t, joined(pod))
	e.wantGet(t, ctr.GetId(), nettest.AllowedHost.String(), "host "+nettest.AllowedHost.String())
	// gVisor's netstack took the namespace's addresses over: a second
	// sandbox would get no network, and is refused.
	if _, err := e.c.Create(ctx, joined(pod)); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("second container joining the pod namespace: err = %v, want FailedPrecondition", err)
	}
	// A checkpoint could not take the pod's network along: refused.
	if _, err := e.c.Checkpoint(ctx, ctr.GetId(), client.CheckpointOptions{LeaveRunning: true}); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "ns:") {
		t.Errorf("checkpoint of a joined container: %v, want FailedPrecondition naming its network", err)
	}
	// A kill -9 and restart of nucleusd re-adopts the container and leaves
	// the joined namespace as it is: the container still reaches the server.
	d.Kill9()
	d.Start()
	e.c = d.Client()
	e.wantGet(t, ctr.GetId(), nettest.AllowedHost.String(), "host "+nettest.AllowedHost.String())
	if _, err := e.c.Delete(ctx, ctr.GetId(), true); err != nil {
		t.Fatal(err)
	}
	if !sandboxnetns.Pinned(pod) {
		t.Fatal("the joined namespace was unpinned by the container's delete")
	}
	err := nettest.InNetns(pod, func() error {
		_, err := net.InterfaceByName("uplink0")
		return err
	})
	if err != nil {
		t.Errorf("the joined namespace lost its interface: %v", err)
	}
	if left := d.Leftovers(); len(left) != 0 {
		t.Errorf("after delete: %v", left)
	}
}
