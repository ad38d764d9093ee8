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

	time.Sleep(2 * time.Second) // the last sandboxes finish booting

	// The CLI (its own process start included), then the call alone.
	var cli, api []time.Duration
	for range 5 {
		begin := time.Now()
		out, stderr, code := d.CtlRun("", "stats", "--no-stream")
		cli = append(cli, time.Since(begin))
		if code != 0 {
			t.Fatalf("stats --no-stream: exit %d: %s", code, stderr)
		}
		if rows := len(strings.Split(strings.TrimSpace(out), "\n")) - 1; rows != n {
			t.Fatalf("stats --no-stream shows %d containers, want %d:\n%s", rows, n, out)
		}
	}
	for range 5 {
		begin := time.Now()
		got := 0
		if err := c.Stats(ctx, &nucleusv1.StatsRequest{}, func(s []*nucleusv1.ContainerStats) error { got = len(s); return nil }); err != nil {
			t.Fatal(err)
		}
		api = append(api, time.Since(begin))
		if got != n {
			t.Fatalf("Stats sampled %d containers, want %d", got, n)
		}
	}
	for _, s := range [][]time.Duration{cli, api} {
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	}
	t.Logf("one stats sample of %d containers: nucleusctl stats --no-stream median %v (min %v, max %v); the Stats call alone median %v (min %v, max %v)",
		n, cli[2], cli[0], cli[4], api[2], api[0], api[4])
	if api[2] > 300*time.Millisecond {
		t.Errorf("a Stats sample of %d containers took %v (median of 5); want under 300 ms", n, api[2])
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

// TestE2EStatsOtherUID: another uid's Stats of root's container is
// NotFound, by id and by name, and its sample of "all" holds its own
// container only.
func TestE2EStatsOtherUID(t *testing.T) {
	d := tenantDaemon(t, "")
	c := d.Client()
	ctx := ctxT(t, 90*time.Second)
	root := running(t, c, ctx, "sleep 60")
	mine := asTenant(t, d, childCall{Op: "create", Spec: sh("sleep 60")})
	if mine[0].Kind != "" {
		t.Fatalf("tenant create: %+v", mine[0])
	}
	r := asTenant(t, d,
		childCall{Op: "stats", ID: root.GetId()},
		childCall{Op: "stats", ID: root.GetName()},
		childCall{Op: "start", ID: mine[0].ID},
		childCall{Op: "stats"})
	for i, what := range []string{"by id", "by name"} {
		if r[i].Kind != "NotFound" {
			t.Errorf("tenant's stats of root's container %s: %+v, want NotFound", what, r[i])
		}
	}
	if r[3].Kind != "" || len(r[3].IDs) != 1 || r[3].IDs[0] != mine[0].ID {
		t.Errorf("tenant's stats of all: %+v, want its own container %s only", r[3], mine[0].ID)
	}
}
