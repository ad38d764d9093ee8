package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestE2EDaemonKeepsItsCPUShare: containers' cgroups live under a parent
// with a CPU weight below the daemon's, so root's `ps` stays fast while
// containers burn every CPU.
func TestE2EDaemonKeepsItsCPUShare(t *testing.T) {
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

	burn := "for i in 1 2 3 4 5 6 7 8; do (while :; do :; done) & done; wait"
	var ids []string
	for range 3 {
		ids = append(ids, running(t, c, ctx, burn).GetId())
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/cpu*/nucleus/" + ids[0])
	if len(cgs) == 0 {
		t.Errorf("container %s has no cgroup under the nucleus parent", ids[0])
	}
	time.Sleep(2 * time.Second) // let them spin up
	var took []time.Duration
	for range 200 {
		begin := time.Now()
		if _, err := c.List(ctx, nil); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(begin))
		time.Sleep(5 * time.Millisecond)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	p50, p99 := took[len(took)/2], took[len(took)*99/100]
	t.Logf("root's List with 3 containers burning 8 CPUs each: p50 %v, p99 %v", p50, p99)
	if p99 > 50*time.Millisecond {
		t.Errorf("root's List p99 = %v while containers burn CPU; want at most 50 ms", p99)
	}
}
