package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/codes"

	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/internal/version"
)

const namespace = "nucleus"

// Latency buckets in seconds: runsc starts /bin/true in about 0.2 s, a
// create with hooks or a slow stop can take tens of seconds.
var latencyBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// grpcBuckets are for API calls: most are milliseconds, Run and Wait last
// as long as the workload.
var grpcBuckets = []float64{.001, .005, .01, .05, .1, .25, .5, 1, 5, 30, 300}

// Metrics holds nucleusd's collectors in a registry of its own (never the
// global one). It implements core.Metrics; Observe is server.Options.Observe.
// Every method is safe for concurrent use, and a nil *Metrics ignores
// observations.
type Metrics struct {
	reg *prometheus.Registry

	lifecycle          *prometheus.HistogramVec
	lifecycleErrors    *prometheus.CounterVec
	hookRuns           *prometheus.CounterVec
	hookFailures       *prometheus.CounterVec
	hookDuration       *prometheus.HistogramVec
	runscErrors        *prometheus.CounterVec
	supervisorRestarts prometheus.Counter
	grpcHandled        *prometheus.CounterVec
	grpcDuration       *prometheus.HistogramVec
	images             *images // nil until WatchImages
}

var _ core.Metrics = (*Metrics)(nil)

// Label values that exist from the start, so dashboards and alerts see 0
// instead of a missing series.
var (
	lifecycleOps = []string{"create", "start", "stop"}
	hookPhases   = []string{"createRuntime", "poststart", "poststop"}
	runscOps     = []string{"create", "start"}
)

// New returns the metrics with the Go runtime and process collectors and a
// nucleus_build_info series registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		lifecycle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "lifecycle_duration_seconds",
			Help:    "Duration of container create (including start for Run), start and stop, failed or not.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		lifecycleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "lifecycle_errors_total",
			Help: "Container create, start and stop calls that failed.",
		}, []string{"op"}),
		hookRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "hook_runs_total",
			Help: "Runs of an operator hook set's phase (every hook of the phase, in order).",
		}, []string{"phase"}),
		hookFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "hook_failures_total",
			Help: "Hook phase runs in which a hook failed or timed out.",
		}, []string{"phase"}),
		hookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "hook_duration_seconds",
			Help:    "Duration of a hook phase run.",
			Buckets: latencyBuckets,
		}, []string{"phase"}),
		runscErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "runsc_errors_total",
			Help: "runsc commands that failed, by subcommand.",
		}, []string{"subcommand"}),
		supervisorRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "supervisor_restarts_total",
			Help: "Container supervisors that had to be restarted or re-adopted after they were lost.",
		}),
		grpcHandled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "gRPC calls completed by the server, by service, method and status code.",
		}, []string{"grpc_service", "grpc_method", "grpc_code"}),
		grpcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Time from the start of a gRPC call to its status, by service and method.",
			Buckets: grpcBuckets,
		}, []string{"grpc_service", "grpc_method"}),
	}
	for _, op := range lifecycleOps {
		m.lifecycle.WithLabelValues(op)
		m.lifecycleErrors.WithLabelValues(op)
	}
	for _, p := range hookPhases {
		m.hookRuns.WithLabelValues(p)
		m.hookFailures.WithLabelValues(p)
		m.hookDuration.WithLabelValues(p)
	}
	for _, op := range runscOps {
		m.runscErrors.WithLabelValues(op)
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; the labels name the nucleusd build.",
	}, []string{"version", "revision"})
	buildInfo.WithLabelValues(version.Version, version.Revision).Set(1)
	m.reg.MustRegister(
		m.lifecycle, m.lifecycleErrors, m.hookRuns, m.hookFailures, m.hookDuration,
		m.runscErrors, m.supervisorRestarts, m.grpcHandled, m.grpcDuration, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry the endpoint serves (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveLifecycle records a create, start or stop and whether it failed.
func (m *Metrics) ObserveLifecycle(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.lifecycle.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.lifecycleErrors.WithLabelValues(op).Inc()
	}
}

// ObserveHook records one run of a hook phase.
func (m *Metrics) ObserveHook(phase string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.hookRuns.WithLabelValues(phase).Inc()
	m.hookDuration.WithLabelValues(phase).Observe(d.Seconds())
	if err != nil {
		m.hookFailures.WithLabelValues(phase).Inc()
	}
}

// RunscError counts a failed runsc subcommand.
func (m *Metrics) RunscError(subcommand string) {
	if m == nil {
		return
	}
	m.runscErrors.WithLabelValues(subcommand).Inc()
}

// SupervisorRestarted counts a supervisor that was lost and replaced. The
// core does not call it yet: supervisors are adopted at recovery, never
// restarted; the series exists (at 0) so alerts can be written now.
func (m *Metrics) SupervisorRestarted() {
	if m == nil {
		return
	}
	m.supervisorRestarts.Inc()
}

// Observe records a finished gRPC call; fullMethod is
// "/package.Service/Method". It matches server.Options.Observe.
func (m *Metrics) Observe(fullMethod string, code codes.Code, d time.Duration) {
	if m == nil {
		return
	}
	service, method := splitMethod(fullMethod)
	m.grpcHandled.WithLabelValues(service, method, code.String()).Inc()
	m.grpcDuration.WithLabelValues(service, method).Observe(d.Seconds())
}

// splitMethod turns "/nucleus.v1.Nucleus/Run" into ("nucleus.v1.Nucleus", "Run").
func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndex(full, "/"); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}
