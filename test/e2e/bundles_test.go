package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// TestE2EBundlesInTheStateDir: a container's bundle is in --state (a
// tmpfs, like /run), not in --root; another uid can neither list the
// bundles nor read one; with the state tmpfs full a create is refused as
// ResourceExhausted, leaves nothing and does not disturb a running
// container; with space back, runs work and deletes leave nothing.
func TestE2EBundlesInTheStateDir(t *testing.T) {
	state := smallRoot(t, "16m") // a tmpfs, as /run is
	if err := os.Chmod(state, 0o711); err != nil {
		t.Fatal(err)
	}
	d := NewDaemon(t, DaemonOptions{})
	d.State, d.Socket = state, filepath.Join(state, "nucleusd.sock")
	d.Start()
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)

	ct := running(t, c, ctx, "trap 'exit 5' USR1; while :; do sleep 0.2; done")
	id := ct.GetId()
	bundles := filepath.Join(state, "bundles")
	config := filepath.Join(bundles, id, "config.json")
	// 0711 bundle: containers run in a user namespace by default, whose
	// root (the gofer) must traverse it to the rootfs.
	for path, want := range map[string]os.FileMode{bundles: 0o711, filepath.Join(bundles, id): 0o711, config: 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %o", path, fi.Mode(), err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Root, "containers", id, "bundle")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a bundle under --root too: %v", err)
	}
	if got := ct.GetBundle(); got != filepath.Join(bundles, id) {
		t.Errorf("the container's bundle is %q, want %q", got, filepath.Join(bundles, id))
	}

	// Another uid: not listable, not readable.
	for _, args := range [][]string{{"/bin/ls", bundles}, {"/bin/cat", config}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("uid 65534 ran %v: %v, %q; want permission denied", args, err, out)
		}
	}

	// The state tmpfs full: refused, nothing left, the running one fine.
	free := fillDisk(t, state)
	defer free()
	before := stateEntries(state)
	if _, err := c.Create(ctx, sh("true")); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("create with the state directory full: %v, want ResourceExhausted", err)
	}
	if after := stateEntries(state); after != before {
		t.Errorf("a refused create left state behind:\nbefore %s\nafter  %s", before, after)
	}
	list, err := c.List(ctx, nil)
	if err != nil || len(list) != 1 {
		t.Errorf("containers after the refused create: %d, %v; want only the running one", len(list), err)
	}
	free()
	if err := c.Kill(ctx, id, uint32(syscall.SIGUSR1)); err != nil {
		t.Fatal(err)
	}
	if g := recWaitState(t, c, id, recExited, time.Minute); g.GetExit().GetExitCode() != 5 {
		t.Fatalf("the running container across the full state dir: %v, want exit 5", g.GetExit())
	}
	for i := range 5 {
		spec := sh("echo ran; exit 2")
		spec.AutoRemove = true
		ex, _, err := c.Run(ctx, spec, client.RunOptions{})
		if err != nil || ex.GetExitCode() != 2 {
			t.Fatalf("run %d with space back: %v, %v", i, ex, err)
		}
	}
	if _, err := c.Delete(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return stateEntries(state) == "" }) {
		t.Errorf("left in the state directory: %s", stateEntries(state))
	}
}

// stateEntries lists what containers hold in a state directory.
func stateEntries(state string) string {
	var out []string
	for _, sub := range []string{"bundles", "supervisors", "secrets", "netns"} {
		entries, _ := os.ReadDir(filepath.Join(state, sub))
		for _, e := range entries {
			out = append(out, sub+"/"+e.Name())
		}
	}
	return strings.Join(out, " ")
}
