package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// fsImmutableFlag is FS_IMMUTABLE_FL of linux/fs.h (x/sys/unix has the
// ioctl numbers but not this flag).
const fsImmutableFlag = 0x10

// setImmutable sets or clears the immutable attribute of path (chattr +i):
// not even root can remove it while set.
func setImmutable(t *testing.T, path string, on bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatalf("FS_IOC_GETFLAGS %s: %v", path, err)
	}
	if on {
		flags |= fsImmutableFlag
	} else {
		flags &^= fsImmutableFlag
	}
	v := int(flags)
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, v); err != nil {
		t.Fatalf("FS_IOC_SETFLAGS %s: %v", path, err)
	}
}

// TestE2EUndoKeepsTheRecordUntilTheSandboxIsGone: recovery undoes an
// interrupted create, and its record goes only once the container's host
// side could be removed. A container whose files cannot be removed for a
// while (here: an immutable file; in the field: a supervisor still inside a
// long restore, "still starting") stays listed as creating, and the undo is
// retried until it succeeds: a record removed at the first failure left a
// sandbox behind that nothing named.
func TestE2EUndoKeepsTheRecordUntilTheSandboxIsGone(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	ct, err := c.Create(ctx, &nucleusv1.ContainerSpec{Name: "undo-me", Args: []string{"/bin/sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	id := ct.GetId()
	d.Kill9()
	// As if nucleusd had died before the create's last step.
	st, err := store.Open(filepath.Join(d.Root, "nucleus.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.UpdateContainer(id, func(r *store.Container) error {
		r.State = nucleusv1.ContainerState_CONTAINER_STATE_CREATING
		r.CreateStep = store.StepRunscCreated
		return nil
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A file in the bundle that cannot be removed until the test says so.
	pinned := filepath.Join(d.State, "bundles", id, "pinned")
	if err := os.WriteFile(pinned, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	setImmutable(t, pinned, true)
	t.Cleanup(func() {
		if _, err := os.Stat(pinned); err == nil {
			setImmutable(t, pinned, false)
		}
	})
	d.Start()
	c = d.Client()

	// While the file stays, the record stays (creating) and the undo is
	// being retried.
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		got, err := c.Get(ctx, id)
		if err != nil {
			t.Fatalf("the record went while the container's files could not be removed: %v", err)
		}
		if got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_CREATING {
			t.Fatalf("state %v during the undo", got.GetState())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(d.Log(), "sandbox cleanup failed") {
		t.Error("the daemon's log does not say the undo failed and is retried")
	}
	setImmutable(t, pinned, false)
	if !waitFor(30*time.Second, func() bool {
		_, err := c.Get(ctx, id)
		return errors.Is(err, errdefs.ErrNotFound)
	}) {
		t.Fatal("the record stays after the container's files became removable")
	}
	for _, dir := range []string{filepath.Join(d.Root, "containers", id), filepath.Join(d.State, "bundles", id)} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the container's directory %s is left: %v", dir, err)
		}
	}
	// The name is free again.
	if _, err := c.Create(ctx, &nucleusv1.ContainerSpec{Name: "undo-me", Args: []string{"/bin/true"}}); err != nil {
		t.Errorf("create with the undone container's name: %v", err)
	}
}
