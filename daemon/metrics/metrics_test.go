package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

func TestLifecycleAndHooks(t *testing.T) {
	m := New()
	m.ObserveLifecycle("create", 200*time.Millisecond, nil)
	m.ObserveLifecycle("create", 3*time.Second, errors.New("boom"))
	m.ObserveLifecycle("stop", time.Second, nil)
	m.ObserveHook("poststop", 10*time.Millisecond, errors.New("exit 1"))
	m.ObserveHook("poststop", 10*time.Millisecond, nil)
	m.RunscError("start")
	m.SupervisorRestarted()

	if n := testutil.CollectAndCount(m.lifecycle); n != 3 {
		t.Errorf("lifecycle series = %d, want 3 (create, start, stop exist from the start)", n)
	}
	if got := histCount(t, m, "nucleus_lifecycle_duration_seconds", "op", "create"); got != 2 {
		t.Errorf("create count = %d, want 2", got)
	}
	if got := histCount(t, m, "nucleus_lifecycle_duration_seconds", "op", "start"); got != 0 {
		t.Errorf("start count = %d, want 0", got)
	}
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"create errors", testutil.ToFloat64(m.lifecycleErrors.WithLabelValues("create")), 1},
		{"stop errors", testutil.ToFloat64(m.lifecycleErrors.WithLabelValues("stop")), 0},
		{"poststop runs", testutil.ToFloat64(m.hookRuns.WithLabelValues("poststop")), 2},
		{"poststop failures", testutil.ToFloat64(m.hookFailures.WithLabelValues("poststop")), 1},
		{"createRuntime runs", testutil.ToFloat64(m.hookRuns.WithLabelValues("createRuntime")), 0},
		{"runsc start errors", testutil.ToFloat64(m.runscErrors.WithLabelValues("start")), 1},
		{"supervisor restarts", testutil.ToFloat64(m.supervisorRestarts), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestGRPCObserve(t *testing.T) {
	m := New()
	m.Observe("/nucleus.v1.Nucleus/Run", codes.OK, time.Second)
	m.Observe("/nucleus.v1.Nucleus/Run", codes.OK, time.Second)
	m.Observe("/nucleus.v1.Nucleus/Get", codes.NotFound, time.Millisecond)
	if got := testutil.ToFloat64(m.grpcHandled.WithLabelValues("nucleus.v1.Nucleus", "Run", "OK")); got != 2 {
		t.Errorf("Run OK = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.grpcHandled.WithLabelValues("nucleus.v1.Nucleus", "Get", "NotFound")); got != 1 {
		t.Errorf("Get NotFound = %v, want 1", got)
	}
	if got := histCount(t, m, "grpc_server_handling_seconds", "grpc_method", "Run"); got != 2 {
		t.Errorf("Run handling count = %d, want 2", got)
	}
}

func TestSplitMethod(t *testing.T) {
	for in, want := range map[string][2]string{
		"/nucleus.v1.Nucleus/Run":      {"nucleus.v1.Nucleus", "Run"},
		"/grpc.health.v1.Health/Check": {"grpc.health.v1.Health", "Check"},
		"odd":                          {"unknown", "odd"},
	} {
		if s, m := splitMethod(in); s != want[0] || m != want[1] {
			t.Errorf("splitMethod(%q) = %q, %q; want %q", in, s, m, want)
		}
	}
}

func TestNilMetricsIgnoresObservations(t *testing.T) {
	var m *Metrics
	m.ObserveLifecycle("create", time.Second, nil)
	m.ObserveHook("poststart", time.Second, nil)
	m.RunscError("create")
	m.SupervisorRestarted()
	m.Observe("/a/b", codes.OK, time.Second)
}

func TestContainersByState(t *testing.T) {
	m := New()
	counts := map[nucleusv1.ContainerState]int{
		nucleusv1.ContainerState_CONTAINER_STATE_RUNNING: 3,
		nucleusv1.ContainerState_CONTAINER_STATE_EXITED:  1,
	}
	var fail error
	if err := m.WatchContainers(func() (map[nucleusv1.ContainerState]int, error) { return counts, fail }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP nucleus_containers Containers known to the daemon, by state.
# TYPE nucleus_containers gauge
nucleus_containers{state="created"} 0
nucleus_containers{state="creating"} 0
nucleus_containers{state="exited"} 1
nucleus_containers{state="paused"} 0
nucleus_containers{state="running"} 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "nucleus_containers"); err != nil {
		t.Error(err)
	}
	// A failing count is a scrape error for this family only.
	fail = errors.New("store closed")
	if _, err := m.Registry().Gather(); err == nil || !strings.Contains(err.Error(), "store closed") {
		t.Errorf("gather with a failing count: %v", err)
	}
}

func TestServeScrapesAndShutsDown(t *testing.T) {
	m := New()
	m.ObserveLifecycle("start", 150*time.Millisecond, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, l) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`nucleus_lifecycle_duration_seconds_count{op="start"} 1`,
		`nucleus_lifecycle_duration_seconds_bucket{op="start",le="0.25"} 1`,
		`nucleus_lifecycle_duration_seconds_bucket{op="start",le="0.1"} 0`,
		`nucleus_build_info{`,
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if r, err := http.Post("http://"+l.Addr().String()+"/metrics", "text/plain", nil); err == nil {
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics = %d, want 405", r.StatusCode)
		}
		r.Body.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after ctx was cancelled")
	}
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Error("the listener still accepts after shutdown")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090": true, "[::1]:9090": true, "localhost:9090": true, "127.1.2.3:1": true,
		":9090": false, "0.0.0.0:9090": false, "10.0.0.1:9090": false, "[::]:9090": false, "junk": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// histCount returns the sample count of the histogram series name{label=value}.
func histCount(t *testing.T, m *Metrics, name, label, value string) uint64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return mt.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}
