package e2e

import (
	"syscall"
	"testing"
	"time"
)

// TestE2ELogFloodKeepsTheDiskFloor: a container that writes far more
// output than the daemon's root can hold stops being logged once the
// disk's free space falls to half of [limits] min_free_disk; the space
// left keeps its exit recordable.
func TestE2ELogFloodKeepsTheDiskFloor(t *testing.T) {
	root := smallRoot(t, "48m")
	d := NewDaemon(t, DaemonOptions{Config: "[limits]\nmin_free_disk = \"24m\"\nlog_max_bytes = \"1g\"\n"})
	d.Root = root
	d.Start()
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	// 70 MB of output: more than the whole file system.
	ct, err := c.RunDetached(ctx, sh("yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 70000000; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Wait(ctx, ct.GetId())
	if err != nil || w.GetExit().GetExitCode() != 3 {
		t.Fatalf("wait: %v %v; want exit 3 recorded", w, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	t.Logf("free after the flood: %d MiB", free>>20)
	// The floor for logs is 12 MiB; the writer looks at the disk every
	// MiB written or 100 ms, so allow a few MiB below it.
	if free < 9<<20 {
		t.Errorf("the flood left %d MiB free; want the log floor (12 MiB) kept", free>>20)
	}
}
