package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// smallRoot mounts a tmpfs of size bytes for a daemon's --root and
// unmounts it after the daemon's own cleanup (cleanups run last-in
// first-out, so call it before NewDaemon).
func smallRoot(t *testing.T, size string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nucleus-e2e-smallroot-")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("mount a %s tmpfs: %v", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		_ = os.Remove(dir)
	})
	return dir
}

// fillDisk writes a file under dir until the file system is full and
// returns a function that frees the space again.
func fillDisk(t *testing.T, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := 0; i < 1<<14; i++ { // at most 16 GiB: bounded, the tmpfs is far smaller
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	// The last partial megabyte too: byte by byte is too slow, so halve.
	for n := len(chunk) / 2; n > 0; n /= 2 {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	f.Close()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Bavail != 0 {
		t.Fatalf("disk not full after filling: %d blocks available, %v", st.Bavail, err)
	}
	return func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("freeing %s: %v", path, err)
		}
	}
}

// TestE2EFullDiskNeverInventsAnExit: with the daemon's root full, an exit
// that cannot be recorded is never reported as anything else: Wait blocks
// (no exit code), Stop fails and says why, ps never shows an exit code the
// container did not return; once space returns every container's true
// code is reported, also for one that exited while nucleusd was killed.
func TestE2EFullDiskNeverInventsAnExit(t *testing.T) {
	root := smallRoot(t, "64m")
	d := NewDaemon(t, DaemonOptions{Config: "[limits]\nmin_free_disk = \"8m\"\n"})
	d.Root = root
	d.Start()
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)

	five := running(t, c, ctx, "sleep 3; exit 5")
	seven := running(t, c, ctx, "sleep 6; exit 7")
	stopMe := running(t, c, ctx, "trap 'exit 42' TERM; while :; do sleep 0.2; done")

	churn := running(t, c, ctx, "sleep 600")
	free := fillDisk(t, root)
	defer free()
	exhaustStore(t, c, ctx, churn.GetId())

	// A create on the full disk is refused up front, naming the floor.
	if _, err := c.Create(ctx, sh("true")); !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "min_free_disk") {
		t.Errorf("create on a full disk: %v; want ResourceExhausted naming [limits] min_free_disk", err)
	}

	// Stop: the process ends (42), the record cannot be written: Stop must
	// fail, not report success with a record still running.
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ct, err := c.Stop(stopCtx, &nucleusv1.StopRequest{Id: stopMe.GetId()})
	cancel()
	if err == nil && (ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_EXITED || ct.GetExit().GetExitCode() != 42) {
		t.Errorf("stop on a full disk succeeded with %v exit %v; want an error or the true exit 42", ct.GetState(), ct.GetExit())
	}
	if err != nil && !strings.Contains(err.Error(), "could not be recorded") {
		t.Errorf("stop on a full disk: %v; want it to say the exit could not be recorded", err)
	}

	// Let "five" exit: wait must not answer with anything but 5.
	time.Sleep(4 * time.Second)
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	resp, err := c.Wait(waitCtx, five.GetId())
	cancel()
	if err == nil && (resp.GetExit() == nil || resp.GetExit().GetExitCode() != 5) {
		t.Errorf("wait on a full disk answered %v; want no answer or exit 5", resp.GetExit())
	}
	checkNoInventedExit(t, c, ctx, map[string]int32{five.GetId(): 5, seven.GetId(): 7, stopMe.GetId(): 42})

	// kill -9 while "seven" is about to exit, then restart with space back.
	d.Kill9()
	time.Sleep(4 * time.Second) // seven exits while nucleusd is down, disk still full
	free()
	d.Start()
	c = d.Client()
	for id, want := range map[string]int32{five.GetId(): 5, seven.GetId(): 7, stopMe.GetId(): 42} {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := c.Wait(wctx, id)
		cancel()
		if err != nil {
			t.Errorf("wait %s after space returned: %v", id, err)
			continue
		}
		if got := resp.GetExit().GetExitCode(); got != want || resp.GetExit().GetReason() == "lost" {
			t.Errorf("wait %s after space returned: exit %d (%s), want %d", id, got, resp.GetExit().GetReason(), want)
		}
	}
	out, stderr, code := d.CtlRun("", "wait", five.GetId(), seven.GetId())
	if code != 0 || strings.Join(strings.Fields(out), " ") != "5 7" {
		t.Errorf("nucleusctl wait: %q %q (exit %d), want 5 and 7", out, stderr, code)
	}
}

// exhaustStore makes the store need space that the full disk does not
// have: pausing and resuming id adds events until a commit fails with
// ResourceExhausted (bbolt reuses its free pages first).
func exhaustStore(t *testing.T, c *client.Client, ctx context.Context, id string) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		_, err := c.Pause(ctx, id)
		if err == nil {
			_, err = c.Resume(ctx, id)
		}
		if errors.Is(err, errdefs.ErrResourceExhausted) {
			t.Logf("the store is out of space after %d pause/resume cycles: %v", i+1, err)
			return
		}
		if err != nil {
			t.Fatalf("pause/resume on a full disk: %v (want ResourceExhausted when the store runs out of space)", err)
		}
	}
	t.Fatal("1000 pause/resume cycles on a full disk never ran the store out of space")
}

// checkNoInventedExit fails when any container shows an exit code that is
// not the one it returned.
func checkNoInventedExit(t *testing.T, c *client.Client, ctx context.Context, want map[string]int32) {
	t.Helper()
	list, err := c.List(ctx, nil)
	if err != nil {
		t.Logf("list on a full disk: %v", err)
		return
	}
	for _, ct := range list {
		w, ok := want[ct.GetId()]
		if !ok || ct.GetExit() == nil {
			continue
		}
		if ct.GetExit().GetExitCode() != w {
			t.Errorf("ps shows %s with exit %d, want %d or none", ct.GetId(), ct.GetExit().GetExitCode(), w)
		}
	}
}
