package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// usernsHostFile writes a root-owned file with mode under /usr/local (a
// unique name, removed at cleanup) and returns its path and content.
func usernsHostFile(t *testing.T, what string, mode os.FileMode) (path, content string) {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join("/usr/local", "nucleus-e2e-"+what+"-"+hex.EncodeToString(b))
	content = "host " + what + " " + hex.EncodeToString(b)
	writeRootFile(t, path, content, mode)
	return path, content
}

// writeRootFile creates path (root:root, exactly mode) and removes it at
// cleanup.
func writeRootFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	if err := os.Chown(path, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestE2EUserNamespaceHostFiles: in a default sandbox, root is not host
// root on the files bound into it. A root:root 0600 file under the bound
// /usr and one in an allowed bind volume cannot be read, a root-owned 0755
// directory bound writable cannot be written, while the host's binaries
// and 0644 files still work and a secret is still the container root's.
// With security.user_namespace = false the same file is readable (the old
// behaviour the switch keeps).
func TestE2EUserNamespaceHostFiles(t *testing.T) {
	secret, secretContent := usernsHostFile(t, "secret", 0o600)
	public, publicContent := usernsHostFile(t, "public", 0o644)
	allowed := cliTempDir(t, "nucleus-userns-allowed-")
	vol := filepath.Join(allowed, "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	writeRootFile(t, filepath.Join(vol, "root-only"), "volume secret", 0o600)
	writeRootFile(t, filepath.Join(vol, "public"), "volume public", 0o644)
	token := filepath.Join(allowed, "token")
	writeRootFile(t, token, "s3cret", 0o600)

	d := StartDaemon(t, DaemonOptions{Config: "[security]\nallowed_host_paths = [\"" + allowed + "\"]\n"})

	out, errb, code := d.CtlRun("", "run", "--rm", "/bin/cat", secret)
	if code == 0 || strings.Contains(out, secretContent) || !strings.Contains(errb, "Permission denied") {
		t.Errorf("cat of a host root:root 0600 file: exit %d, stdout %q, stderr %q; want Permission denied", code, out, errb)
	}
	out, errb, code = d.CtlRun("", "run", "--rm", "-u", "1:1", "/bin/cat", secret)
	if code == 0 || strings.Contains(out, secretContent) {
		t.Errorf("cat of a host root:root 0600 file as 1:1: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	if out := ctlOK(t, d, "", "run", "--rm", "/bin/sh", "-c", "echo ok"); out != "ok\n" {
		t.Errorf("/bin/sh -c 'echo ok' printed %q", out)
	}
	if out := ctlOK(t, d, "", "run", "--rm", "/bin/cat", public); out != publicContent {
		t.Errorf("cat of a host 0644 file printed %q, want %q", out, publicContent)
	}

	// The allowed bind volume: a root-only file stays closed; the
	// root-owned 0755 directory takes no new file (and rw is asked).
	script := "cat /data/public; echo; cat /data/root-only || echo READ-DENIED; " +
		"echo x > /data/new || echo WRITE-DENIED; mkdir /data/d || echo MKDIR-DENIED; rm /data/public || echo RM-DENIED"
	out, errb, _ = d.CtlRun("", "run", "--rm", "-v", vol+":/data:rw", "/bin/sh", "-c", script)
	for _, want := range []string{"volume public\n", "READ-DENIED", "WRITE-DENIED", "MKDIR-DENIED", "RM-DENIED"} {
		if !strings.Contains(out, want) {
			t.Errorf("bind volume: stdout %q lacks %q (stderr %q)", out, want, errb)
		}
	}
	if strings.Contains(out, "volume secret") {
		t.Errorf("bind volume: the root-only file was read: %q", out)
	}
	for _, name := range []string{"new", "d"} {
		if _, err := os.Lstat(filepath.Join(vol, name)); err == nil {
			t.Errorf("the sandbox created %s in a root-owned 0755 host directory", name)
		}
	}
	if _, err := os.Stat(filepath.Join(vol, "public")); err != nil {
		t.Errorf("the sandbox removed a file of a root-owned host directory: %v", err)
	}

	// Secrets are staged for the mapped ids: container root reads its own.
	if out := ctlOK(t, d, "", "run", "--rm", "--secret", "token="+token, "/bin/sh", "-c",
		"cat /run/secrets/token; echo; stat -c '%u %a' /run/secrets/token"); out != "s3cret\n0 400\n" {
		t.Errorf("--secret under the default user namespace: %q", out)
	}

	// The same file with the switch off: sandbox root is host root again.
	off := StartDaemon(t, DaemonOptions{Config: "[security]\nuser_namespace = false\n"})
	if out := ctlOK(t, off, "", "run", "--rm", "/bin/cat", secret); out != secretContent {
		t.Errorf("with user_namespace = false, cat printed %q, want the file (the old behaviour)", out)
	}
}

// TestE2EUserNamespaceRanges: each container gets a range of its own,
// shown by Inspect; files it writes to a volume belong to that range on
// the host; only root may choose mappings; a range is freed with its
// container.
func TestE2EUserNamespaceRanges(t *testing.T) {
	allowed := cliTempDir(t, "nucleus-userns-ranges-")
	vol := filepath.Join(allowed, "shared")
	if err := os.Mkdir(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	d := StartDaemon(t, DaemonOptions{Config: "[security]\nallowed_host_paths = [\"" + allowed + "\"]\nuserns_ranges = 2\n"})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)

	a, err := c.Create(ctx, sh("sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Create(ctx, sh("sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	hostA := a.GetSpec().GetUserNamespace().GetUidMappings()
	hostB := b.GetSpec().GetUserNamespace().GetUidMappings()
	if len(hostA) != 1 || len(hostB) != 1 || hostA[0].GetHostId() == hostB[0].GetHostId() ||
		hostA[0].GetContainerId() != 0 || hostA[0].GetSize() != 65536 ||
		min(hostA[0].GetHostId(), hostB[0].GetHostId()) != 0x70000000 {
		t.Fatalf("ranges: a %v, b %v; want two different 65536-id ranges from 0x70000000", hostA, hostB)
	}
	if _, err := c.Create(ctx, sh("true")); err == nil || !strings.Contains(err.Error(), "userns_ranges") {
		t.Errorf("a third create with 2 ranges: %v, want ResourceExhausted naming userns_ranges", err)
	}
	if _, err := c.Delete(ctx, b.GetId(), true); err != nil {
		t.Fatal(err)
	}

	// A file written through a volume belongs to the container's range.
	out := ctlOK(t, d, "", "run", "--rm", "-v", vol+":/data", "/bin/sh", "-c", "echo hi > /data/f; stat -c %u /data/f")
	fi, err := os.Stat(filepath.Join(vol, "f"))
	if err != nil {
		t.Fatalf("the container's write did not reach the host: %v (stdout %q)", err, out)
	}
	if uid := fileUID(fi); uid == 0 || uid == hostA[0].GetHostId() || uid != hostB[0].GetHostId() {
		t.Errorf("file written by container root is host uid %d; want the freed range %d (a holds %d)", uid, hostB[0].GetHostId(), hostA[0].GetHostId())
	}
	if out != "0\n" {
		t.Errorf("inside, the file's owner is %q, want 0", out)
	}

	// Ids past the range are refused with the key to raise.
	if _, errb, code := d.CtlRun("", "run", "--rm", "-u", "70000", "/bin/true"); code == 0 || !strings.Contains(errb, "userns_size") {
		t.Errorf("run -u 70000: exit %d, stderr %q; want a refusal naming security.userns_size", code, errb)
	}

	// Only root chooses mappings.
	own := sh("true")
	own.UserNamespace = &nucleusv1.UserNamespace{
		UidMappings: []*nucleusv1.IDMapping{{ContainerId: 0, HostId: 0, Size: 1}},
		GidMappings: []*nucleusv1.IDMapping{{ContainerId: 0, HostId: 0, Size: 1}},
	}
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	r := asUser(t, d.Socket, nobody, 0, []uint32{0}, childCall{Op: "create", Spec: own})
	if r[0].Kind != "PermissionDenied" || !strings.Contains(r[0].Error, "user_namespace") {
		t.Errorf("a non-root caller's own user_namespace: %+v, want PermissionDenied", r[0])
	}
}

func fileUID(fi os.FileInfo) uint32 { return fi.Sys().(*syscall.Stat_t).Uid }
