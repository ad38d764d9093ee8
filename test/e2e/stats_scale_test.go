package e2e

import (
	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestE2EStatsScale: one `stats --no-stream` over many live containers
// costs about what one container's does, not N runsc processes in a row
// (it was 1.5 s with 100 containers).
func TestE2EStatsScale(t *testing.T) {
	const n = 100
	d := StartDaemon(t, DaemonOptions{Config: "[limits]\nmax_containers_per_uid = 200\n"})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 10*time.Minute)
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 4 {
				ct := running(t, c, ctx, "sleep 600")
				ids <- ct.GetId()
			}
		}()
	}
	wg.Wait()
	close(ids)

	var took []time.Duration
	for range 5 {
		begin := time.Now()
		out, stderr, code := d.CtlRun("", "stats", "--no-stream")
		took = append(took, time.Since(begin))
		if code != 0 {
			t.Fatalf("stats --no-stream: exit %d: %s", code, stderr)
		}
		if rows := len(strings.Split(strings.TrimSpace(out), "\n")) - 1; rows != n {
			t.Fatalf("stats --no-stream shows %d containers, want %d:\n%s", rows, n, out)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("stats --no-stream over %d containers: median %v, min %v, max %v", n, took[2], took[0], took[4])
	if took[2] > 300*time.Millisecond {
		t.Errorf("stats --no-stream over %d containers took %v (median of 5); want under 300 ms", n, took[2])
	}

	// Restart to serving with these live containers: recovery asks their
	// supervisors concurrently.
	d.Kill9()
	restart := d.StartWithin(time.Minute)
	t.Logf("restart to serving with %d live containers: %v", n, restart)
	if restart > 2*time.Second {
		t.Errorf("nucleusd answered %v after a restart with %d live containers; want under 2 s", restart, n)
	}
	c = d.Client()
	list, err := c.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range list {
		if ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
			t.Errorf("after the restart %s is %v, want running (adopted)", ct.GetId(), ct.GetState())
		}
	}
}
