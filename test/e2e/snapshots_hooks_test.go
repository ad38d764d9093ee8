package e2e

import (
	"testing"
	"time"

	"nucleus.dev/nucleus/client"
)

// TestE2ESnapshotRestoreRunsHooks: a restored container runs its hook
// set's createRuntime hooks (between runsc create and the restore),
// poststart after it and poststop at its exit, as for any start; the
// restore still continues the checkpointed state.
func TestE2ESnapshotRestoreRunsHooks(t *testing.T) {
	dir, cfg := hookFixture(t)
	d := StartDaemon(t, DaemonOptions{Config: cfg})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	spec := counterSpec()
	spec.HookSet = "rec"
	ct, err := c.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, ct.GetId()); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { _, err := c.ExecSync(ctx, counterRead(ct.GetId())); return err == nil }) {
		t.Fatal("counter did not start")
	}
	bump(t, ctx, c, ct.GetId(), 2, 2)
	if _, err := c.Checkpoint(ctx, ct.GetId(), client.CheckpointOptions{Name: "hooked", LeaveRunning: true}); err != nil {
		t.Fatal(err)
	}
	forks, err := c.Restore(ctx, "hooked", client.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := forks[0].GetId()
	if forks[0].GetHookSet() != "rec" {
		t.Errorf("restored hook set %q, want rec", forks[0].GetHookSet())
	}
	if got := readCount(t, ctx, c, id); got != 2 {
		t.Errorf("restored counter %d, want 2", got)
	}
	if _, err := c.Delete(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	var phases []string
	waitFor(10*time.Second, func() bool {
		phases = nil
		for _, call := range hookCalls(t, dir) {
			if call.State.ID == id {
				phases = append(phases, call.Phase+":"+string(call.State.Status))
			}
		}
		return len(phases) >= 3
	})
	want := []string{"createRuntime:created", "poststart:running", "poststop:stopped"}
	if len(phases) != len(want) {
		t.Fatalf("hooks of the restored container: %v, want %v", phases, want)
	}
	for i := range want {
		if phases[i] != want[i] {
			t.Errorf("hooks of the restored container: %v, want %v", phases, want)
			break
		}
	}
}
