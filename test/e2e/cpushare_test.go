package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/client"
)

// abusers are the workloads a hostile tenant runs beside everyone else: a
// fork bomb (inside the sandbox's pids limit), a memory hog (up to its
// memory limit), an output flood and a /tmp filler that keeps rewriting
// its tmpfs.
var abusers = map[string]string{
	"forkbomb": "b() { b | b & }; b; sleep 600",
	"memhog":   "while :; do head -c 2000m /dev/zero | tail > /dev/null; done",
	"flood":    "yes 'flood flood flood flood flood flood flood flood'",
	"tmpfill":  "while :; do head -c 100m /dev/zero > /tmp/fill 2>/dev/null; rm -f /tmp/fill; done",
	"burn":     "for i in 1 2 3 4; do (while :; do :; done) & done; wait",
}

// TestE2EDaemonKeepsItsShareUnderAbuse: containers' cgroups live under a
// parent with a CPU weight below the daemon's and each container gets the
// default CPU limit, so root's List (what `ps` calls) stays fast while the
// abusers run.
func TestE2EDaemonKeepsItsShareUnderAbuse(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)

	shares, err := os.ReadFile("/sys/fs/cgroup/cpu,cpuacct/nucleus/cpu.shares")
	if os.IsNotExist(err) {
		shares, err = os.ReadFile("/sys/fs/cgroup/cpu/nucleus/cpu.shares")
	}
	if err != nil || strings.TrimSpace(string(shares)) != "256" {
		t.Fatalf("the containers' parent cgroup has cpu.shares %q (%v), want 256", shares, err)
	}
	idle := listLatencies(t, c, ctx, 100)

	var ids []string
	for name, script := range abusers {
		ct := running(t, c, ctx, script)
		ids = append(ids, ct.GetId())
		t.Logf("abuser %s: %s", name, ct.GetId()[:12])
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/cpu*/nucleus/" + ids[0])
	if len(cgs) == 0 {
		t.Errorf("container %s has no cgroup under the nucleus parent", ids[0])
	}
	time.Sleep(3 * time.Second) // let them spin up
	busy := listLatencies(t, c, ctx, 200)
	t.Logf("root's List: idle p50 %v p99 %v; with %d abusers p50 %v p99 %v",
		idle[len(idle)/2], idle[len(idle)*99/100], len(abusers), busy[len(busy)/2], busy[len(busy)*99/100])
	if p99 := busy[len(busy)*99/100]; p99 > 50*time.Millisecond {
		t.Errorf("root's List p99 = %v with the abusers running; want at most 50 ms", p99)
	}
}

// listLatencies times n List calls, 5 ms apart, sorted.
func listLatencies(t *testing.T, c *client.Client, ctx context.Context, n int) []time.Duration {
	t.Helper()
	var took []time.Duration
	for range n {
		begin := time.Now()
		if _, err := c.List(ctx, nil); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(begin))
		time.Sleep(5 * time.Millisecond)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	return took
}
