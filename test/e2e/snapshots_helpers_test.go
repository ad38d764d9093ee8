package e2e

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// startCounter creates and starts counterSpec and waits until its trap
// is set (the counter file exists).
func startCounter(t *testing.T, ctx context.Context, c *client.Client) string {
	t.Helper()
	ct, err := c.Create(ctx, counterSpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, ct.GetId()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: ct.GetId(), Args: []string{"/bin/cat", "/tmp/count"}})
		if err == nil && res.GetExitCode() == 0 {
			return ct.GetId()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the counter did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counterSpec is a shell that keeps a counter in memory ($i) and in /tmp:
// each SIGUSR1 adds one and writes it to /tmp/count. Only the signals
// move it, so a checkpoint captures a known value.
func counterSpec() *nucleusv1.ContainerSpec {
	// The trap writes the next value beside the file and renames it over: a
	// reader never sees the file truncated but not yet written.
	spec := sh(`i=0; trap 'i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count' USR1; echo $i > /tmp/count; while :; do sleep 0.05; done`)
	spec.NoTimeout = true
	return spec
}

func counterRead(id string) *nucleusv1.ExecSyncRequest {
	return &nucleusv1.ExecSyncRequest{Id: id, Args: []string{"/bin/cat", "/tmp/count"}}
}

// readCount reads /tmp/count in the container.
func readCount(t *testing.T, ctx context.Context, c *client.Client, id string) int {
	t.Helper()
	res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: id, Args: []string{"/bin/cat", "/tmp/count"}})
	if err != nil || res.GetExitCode() != 0 {
		t.Fatalf("reading the counter of %s: %v %v (%s)", id, err, res.GetExitCode(), res.GetStderr())
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(res.GetStdout())))
	if err != nil {
		t.Fatalf("counter of %s: %q", id, res.GetStdout())
	}
	return n
}

// bump sends n SIGUSR1 to the container, one at a time, each once the
// previous one is counted (signals pending together would merge), and
// checks the counter ends at want.
func bump(t *testing.T, ctx context.Context, c *client.Client, id string, n, want int) {
	t.Helper()
	cur := readCount(t, ctx, c, id)
	for range n {
		if err := c.Kill(ctx, id, uint32(syscall.SIGUSR1)); err != nil {
			t.Fatalf("signalling %s: %v", id, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for readCount(t, ctx, c, id) == cur {
			if time.Now().After(deadline) {
				t.Fatalf("counter of %s stayed at %d after a signal", id, cur)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cur++
	}
	if got := readCount(t, ctx, c, id); got != want {
		t.Fatalf("counter of %s = %d, want %d", id, got, want)
	}
}

// doSnapshotCall runs a snapshot call for another uid (see asUser).
func doSnapshotCall(ctx context.Context, c *client.Client, call childCall) (childResult, error) {
	var r childResult
	switch call.Op {
	case "snapshot-list":
		snaps, err := c.ListSnapshots(ctx)
		for _, s := range snaps {
			r.IDs = append(r.IDs, s.GetId())
		}
		return r, err
	case "snapshot-get":
		s, err := c.GetSnapshot(ctx, call.ID)
		r.ID = s.GetId()
		return r, err
	case "snapshot-restore":
		cs, err := c.Restore(ctx, call.ID, client.RestoreOptions{})
		for _, ct := range cs {
			r.IDs = append(r.IDs, ct.GetId())
		}
		return r, err
	case "checkpoint":
		s, err := c.Checkpoint(ctx, call.ID, client.CheckpointOptions{LeaveRunning: true})
		r.ID = s.GetId()
		return r, err
	}
	return r, c.RemoveSnapshot(ctx, call.ID)
}

// snapshotEvents replays the retained events of the snapshot types and
// returns each one's type and "snapshot" attribute, in order.
func snapshotEvents(t *testing.T, ctx context.Context, c *client.Client, want int) []string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	zero := uint64(0)
	sub, err := c.Subscribe(sctx, &nucleusv1.EventsRequest{SinceSequence: &zero, Types: []nucleusv1.EventType{
		nucleusv1.EventType_EVENT_TYPE_CHECKPOINTED, nucleusv1.EventType_EVENT_TYPE_RESTORED, nucleusv1.EventType_EVENT_TYPE_SNAPSHOT_REMOVED,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var out []string
	for len(out) < want {
		resp, err := sub.Recv()
		if err != nil {
			t.Fatalf("events after %v: %v", out, err)
		}
		if ev := resp.GetEvent(); ev != nil {
			out = append(out, strings.TrimPrefix(ev.GetType().String(), "EVENT_TYPE_")+" "+ev.GetAttributes()["snapshot"])
		}
	}
	return out
}
