package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// hostHarness is a fake host around an image root: a canary file beside
// the root, plus the real /etc, which every hostile test checks after.
type hostHarness struct {
	t      *testing.T
	base   string // the "host" directory holding root and the canary
	root   string // where layers are unpacked
	canary string
	tag    string // a unique name hostile entries try to create on the host
	victim string // a host file in /etc, this test's own, that layers try to overwrite or white out
	etc    map[string][32]byte
}

func newHost(t *testing.T) *hostHarness {
	t.Helper()
	testutil.RequireRoot(t, "to unpack as nucleusd does (owners, hard links by fd)")
	base := t.TempDir()
	h := &hostHarness{t: t, base: base, root: filepath.Join(base, "root"), canary: filepath.Join(base, "canary"),
		tag: fmt.Sprintf("nucleus-escape-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_")), etc: map[string][32]byte{}}
	if err := os.Mkdir(h.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.canary, []byte("canary"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Layers aim at this file rather than at /etc/passwd: a regression
	// then damages only the test's own file, and the check still sees it.
	h.victim = h.tag + "-victim"
	if err := os.WriteFile("/etc/"+h.victim, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("/etc/" + h.victim) })
	for _, f := range []string{"/etc/passwd", "/etc/shadow", "/etc/group"} {
		b, _ := os.ReadFile(f)
		h.etc[f] = sha256.Sum256(b)
	}
	t.Cleanup(func() {
		for _, p := range h.escapes() {
			os.RemoveAll(p)
		}
	})
	return h
}

// escapes are the host paths a hostile entry named tag could reach.
func (h *hostHarness) escapes() []string {
	return []string{"/" + h.tag, "/etc/" + h.tag, "/tmp/" + h.tag, filepath.Join(h.base, h.tag), filepath.Join(filepath.Dir(h.base), h.tag)}
}

// check asserts nothing outside the root changed.
func (h *hostHarness) check() {
	h.t.Helper()
	for _, p := range h.escapes() {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			h.t.Errorf("HOST WRITTEN: %s exists (%v)", p, err)
		}
	}
	if b, err := os.ReadFile(h.canary); err != nil || string(b) != "canary" {
		h.t.Errorf("HOST WRITTEN: canary is %q, %v", b, err)
	}
	if b, err := os.ReadFile("/etc/" + h.victim); err != nil || string(b) != "victim" {
		h.t.Errorf("HOST WRITTEN: /etc/%s is %q, %v", h.victim, b, err)
	}
	ents, _ := os.ReadDir(h.base)
	if len(ents) != 2 {
		h.t.Errorf("HOST WRITTEN: %s holds %d entries, want root and canary", h.base, len(ents))
	}
	for f, sum := range h.etc {
		b, _ := os.ReadFile(f)
		if sha256.Sum256(b) != sum {
			h.t.Errorf("HOST WRITTEN: %s changed", f)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/etc/shadow", &st); err == nil && st.Nlink != 1 {
		h.t.Errorf("HOST WRITTEN: /etc/shadow has %d links", st.Nlink)
	}
}

// unpack applies raw (uncompressed) tar layers, gzipped, with pol.
func (h *hostHarness) unpack(pol Policy, layers ...[]byte) (*unpacker, error) {
	h.t.Helper()
	u, err := newUnpacker(h.root, pol.WithDefaults())
	if err != nil {
		h.t.Fatal(err)
	}
	defer u.close()
	for _, l := range layers {
		if err := u.layer(bytes.NewReader(imagestest.Gzip(h.t, l)), imagestest.Digest(l)); err != nil {
			return u, err
		}
	}
	return u, nil
}

func (h *hostHarness) inRoot(p string) string { return filepath.Join(h.root, p) }

func (h *hostHarness) wantFile(p, body string) {
	h.t.Helper()
	if b, err := os.ReadFile(h.inRoot(p)); err != nil || string(b) != body {
		h.t.Errorf("%s in the root = %q, %v; want %q", p, b, err, body)
	}
}

func TestHostileDotDotEntries(t *testing.T) {
	h := newHost(t)
	_, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.File("../"+h.tag, "x"), imagestest.File("a/../../../"+h.tag, "y"),
		imagestest.File("../../../../../../../etc/"+h.tag, "z"), imagestest.Dir("../../d/")))
	if err != nil {
		t.Fatalf("a layer with ../ entries is neutralised, not refused: %v", err)
	}
	h.wantFile(h.tag, "y")
	h.wantFile("etc/"+h.tag, "z")
	h.check()
}

func TestHostileAbsolutePaths(t *testing.T) {
	h := newHost(t)
	if _, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.File("/etc/"+h.tag, "x"), imagestest.File("/"+h.tag, "y"), imagestest.File(h.canary, "owned"))); err != nil {
		t.Fatal(err)
	}
	h.wantFile("etc/"+h.tag, "x")
	h.wantFile(h.canary, "owned")
	h.check()
}

func TestHostileSymlinkSameLayer(t *testing.T) {
	h := newHost(t)
	_, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.Dir("etc/"),
		imagestest.Symlink("etcl", "/etc"), imagestest.File("etcl/"+h.tag, "via abs"),
		imagestest.Symlink("up", "../../../../.."), imagestest.File("up/"+h.tag, "via rel"),
		imagestest.Symlink("rootl", "/"), imagestest.File("rootl/tmp/"+h.tag, "via root"),
		imagestest.Symlink("can", h.canary), imagestest.File("can", "replaced, not followed")))
	if err != nil {
		t.Fatal(err)
	}
	// A symlink to a host directory the image lacks dangles inside the
	// root: writing through it fails and writes nothing.
	if _, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.Symlink("base", h.base), imagestest.File("base/"+h.tag, "via base"))); err == nil {
		t.Errorf("writing through a symlink to a directory missing from the image succeeded")
	}
	h.wantFile("etc/"+h.tag, "via abs")
	h.wantFile(h.tag, "via rel")
	h.wantFile("can", "replaced, not followed")
	h.check()
}

func TestHostileSymlinkLaterLayer(t *testing.T) {
	h := newHost(t)
	_, err := h.unpack(Policy{},
		imagestest.Tar(t, imagestest.Dir("etc/"), imagestest.Symlink("etcl", "/etc"), imagestest.Symlink("rootl", "/"), imagestest.Symlink("can", h.canary), imagestest.Symlink("d", "../"+filepath.Base(h.base))),
		imagestest.Tar(t, imagestest.File("etcl/"+h.tag, "a"), imagestest.File("rootl/etc/"+h.victim, "root::0:0::/:/bin/sh\n"),
			imagestest.File("can", "b"), imagestest.Dir("d/"), imagestest.File("d/"+h.tag, "c")))
	if err != nil {
		t.Fatal(err)
	}
	h.wantFile("etc/"+h.tag, "a")
	h.wantFile("etc/"+h.victim, "root::0:0::/:/bin/sh\n")
	h.check()
}

func TestHostileHardlinkToShadow(t *testing.T) {
	h := newHost(t)
	for _, target := range []string{"/etc/shadow", "../../../../etc/shadow", h.base + "/canary"} {
		_, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.Hardlink("h", target)))
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("hard link to %s outside the image = %v, want InvalidArgument", target, err)
		}
	}
	// Through a symlink planted in the image: the link names the symlink
	// itself, never what it points at.
	if _, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.Symlink("s", "/etc/shadow"), imagestest.Hardlink("h", "s"))); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(h.inRoot("h")); err != nil || l != "/etc/shadow" {
		t.Errorf("h = %q %v, want a link to the symlink s", l, err)
	}
	h.check()
}

func TestHostileWhiteoutDotDot(t *testing.T) {
	h := newHost(t)
	if _, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.File("canary", "in image"), imagestest.File("keep", "k"), imagestest.Dir("etc/"), imagestest.File("etc/"+h.victim, "v"), imagestest.Symlink("etcl", "/etc"))); err != nil {
		t.Fatal(err)
	}
	// Whiteouts that climb out resolve inside the root; those naming . or
	// .. are refused.
	if _, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.File("../.wh.canary", ""), imagestest.File("a/../../.wh.canary", ""), imagestest.File("etcl/.wh."+h.victim, ""))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"canary", "etc/" + h.victim} {
		if _, err := os.Lstat(h.inRoot(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the image's own %s should be whited out: %v", p, err)
		}
	}
	for _, bad := range []string{"x/.wh..", "x/.wh.."} {
		if _, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.File(bad, ""))); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("whiteout %q = %v, want InvalidArgument", bad, err)
		}
	}
	h.wantFile("keep", "k")
	h.check()
}

func TestHostileDeviceNodes(t *testing.T) {
	h := newHost(t)
	u, err := h.unpack(Policy{}, imagestest.Tar(t,
		imagestest.Entry{Name: "dev/kmsg", Type: tar.TypeChar, Mode: 0o666},
		imagestest.Entry{Name: "dev/sda", Type: tar.TypeBlock, Mode: 0o666},
		imagestest.Entry{Name: "../" + h.tag, Type: tar.TypeChar, Mode: 0o666}))
	if err != nil {
		t.Fatal(err)
	}
	if u.skipped.CharDevices != 2 || u.skipped.BlockDevices != 1 {
		t.Errorf("skipped = %+v, want 2 char and 1 block device", u.skipped)
	}
	for _, p := range []string{"dev/kmsg", "dev/sda", h.tag} {
		if _, err := os.Lstat(h.inRoot(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("device %s was created: %v", p, err)
		}
	}
	h.check()
}

func TestHostileFIFO(t *testing.T) {
	h := newHost(t)
	u, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.Entry{Name: "run/fifo", Type: tar.TypeFifo, Mode: 0o666}))
	if err != nil {
		t.Fatal(err)
	}
	if u.skipped.FIFOs != 1 {
		t.Errorf("skipped = %+v, want 1 FIFO", u.skipped)
	}
	if _, err := os.Lstat(h.inRoot("run/fifo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the FIFO was created: %v", err)
	}
	h.check()
}

func TestHostileXattrsAndSetuid(t *testing.T) {
	h := newHost(t)
	u, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.Entry{Name: "bin/x", Body: "x", Type: tar.TypeReg, Mode: 0o6755, UID: 1000, GID: 1000,
		PAX: map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
			"SCHILY.xattr.trusted.overlay.opaque": "y", "SCHILY.xattr.user.note": "ok"}}))
	if err != nil {
		t.Fatal(err)
	}
	if u.skipped.Xattrs != 2 {
		t.Errorf("skipped xattrs = %d, want 2 (security.capability, trusted.*)", u.skipped.Xattrs)
	}
	buf := make([]byte, 64)
	if _, err := syscall.Getxattr(h.inRoot("bin/x"), "security.capability", buf); err == nil {
		t.Errorf("security.capability was set")
	}
	fi, err := os.Stat(h.inRoot("bin/x"))
	if err != nil || fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != os.ModeSetuid|os.ModeSetgid || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Errorf("bin/x = %v, want setuid+setgid mode bits owned by 1000", fi)
	}
	h.check()
}

func TestHostileImpossibleEntries(t *testing.T) {
	h := newHost(t)
	// A file where a directory must be: refused as the layer's fault.
	if _, err := h.unpack(Policy{}, imagestest.Tar(t, imagestest.File("a", "x"), imagestest.File("a/b", "y"))); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("a file under a file = %v, want InvalidArgument", err)
	}
	h.check()
}
