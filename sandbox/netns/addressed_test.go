package netns

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// TestCheckAddressed: a namespace with only its loopback (as a gVisor
// sandbox leaves a pod's namespace once it took the addresses over) is
// FailedPrecondition; one with an addressed interface passes.
func TestCheckAddressed(t *testing.T) {
	testutil.E2E(t) // needs root to make namespaces
	path := filepath.Join(t.TempDir(), "ns")
	if err := Create(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Remove(path) })
	if err := CheckAddressed(path); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("only lo: err = %v, want FailedPrecondition", err)
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "eth0"
	if err := nh.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth1"}); err != nil {
		t.Fatal(err)
	}
	link, err := nh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("192.0.2.7/24")
	if err := nh.AddrAdd(link, addr); err != nil {
		t.Fatal(err)
	}
	if err := CheckAddressed(path); err != nil {
		t.Fatalf("with 192.0.2.7/24 on eth0: %v", err)
	}
}
