package e2e

import (
	"context"
	"errors"
	"fmt"
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

	// Large records: rewriting one needs more free pages than the store
	// file holds, so that every record update fails once the disk is full
	// (small ones may still fit in pages bbolt freed earlier).
	// Exits are triggered by signals once the disk is full, not by
	// timers: on a loaded host filling the store may take a while.
	five := runningBig(t, c, ctx, "trap 'exit 5' USR1; while :; do sleep 0.2; done")
	seven := runningBig(t, c, ctx, "trap 'sleep 2; exit 7' USR1; while :; do sleep 0.2; done")
	stopMe := runningBig(t, c, ctx, "trap 'exit 42' TERM; while :; do sleep 0.2; done")

	churn := runningBig(t, c, ctx, "sleep 600")
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
	if err := c.Kill(ctx, five.GetId(), uint32(syscall.SIGUSR1)); err != nil {
		t.Fatalf("signal five: %v", err)
	}
	awaitExitOrPending(t, c, ctx, five.GetId())
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	resp, err := c.Wait(waitCtx, five.GetId())
	cancel()
	if err == nil && (resp.GetExit() == nil || resp.GetExit().GetExitCode() != 5) {
		t.Errorf("wait on a full disk answered %v; want no answer or exit 5", resp.GetExit())
	}
	checkNoInventedExit(t, c, ctx, map[string]int32{five.GetId(): 5, seven.GetId(): 7, stopMe.GetId(): 42})
	checkExitPending(t, d, c, ctx, five.GetId())

	// kill -9 while "seven" is about to exit, then restart with space back.
	if err := c.Kill(ctx, seven.GetId(), uint32(syscall.SIGUSR1)); err != nil {
		t.Fatalf("signal seven: %v", err)
	}
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

// runningBig is running with about 600 KB of environment in the spec.
func runningBig(t *testing.T, c *client.Client, ctx context.Context, script string) *nucleusv1.Container {
	t.Helper()
	spec := sh(script)
	for i := range 6 {
		spec.Env = append(spec.Env, fmt.Sprintf("PAD%d=%s", i, strings.Repeat(string(rune('a'+i)), 100_000)))
	}
	ct, err := c.RunDetached(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("detached run state %v", ct.GetState())
	}
	return ct
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

// awaitExitOrPending waits (at most 30 s) until id shows an exit or a
// pending exit.
func awaitExitOrPending(t *testing.T, c *client.Client, ctx context.Context, id string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		g, err := c.Get(ctx, id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if g.GetExit() != nil || g.GetExitPending() != "" {
			return
		}
	}
	t.Fatalf("%s shows neither an exit nor a pending exit 30 s after its signal", id)
}

// checkExitPending: a container whose exit could not be recorded says so
// in Get, List and ps ("Exited (code pending)"), with no exit code.
func checkExitPending(t *testing.T, d *Daemon, c *client.Client, ctx context.Context, id string) {
	t.Helper()
	g, err := c.Get(ctx, id)
	if err != nil {
		t.Fatalf("get on a full disk: %v", err)
	}
	if g.GetExitPending() == "" || g.GetExit() != nil {
		t.Errorf("get %s on a full disk: exit_pending %q, exit %v; want a reason and no exit", id, g.GetExitPending(), g.GetExit())
	}
	list, err := c.List(ctx, nil)
	if err != nil {
		t.Fatalf("list on a full disk: %v", err)
	}
	for _, ct := range list {
		if ct.GetId() == id && ct.GetExitPending() == "" {
			t.Errorf("list shows %s without exit_pending", id)
		}
	}
	out, stderr, code := d.CtlRun("", "ps", "-a")
	if code != 0 || !strings.Contains(out, "Exited (code pending)") {
		t.Errorf("ps -a on a full disk (exit %d, %s) does not show the pending exit:\n%s", code, stderr, out)
	}
}
