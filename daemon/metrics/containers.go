package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// CountFunc reports how many containers are in each state; it is called at
// every scrape.
type CountFunc func() (map[nucleusv1.ContainerState]int, error)

// containers is a collector asking a CountFunc at scrape time, so the gauge
// is never stale and the core keeps no counters of its own.
type containers struct {
	desc  *prometheus.Desc
	count CountFunc
}

// WatchContainers registers the nucleus_containers{state} gauge, filled by
// count at each scrape. Every state a record can be in (creating, created,
// running, paused, exited) is reported, 0 when no container is in it. Call
// it once, when the core is open.
func (m *Metrics) WatchContainers(count CountFunc) error {
	return m.reg.Register(&containers{
		desc: prometheus.NewDesc(namespace+"_containers", "Containers known to the daemon, by state.",
			[]string{"state"}, nil),
		count: count,
	})
}

func (c *containers) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *containers) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.count()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for v := range nucleusv1.ContainerState_name {
		s := nucleusv1.ContainerState(v)
		n, ok := counts[s]
		if !ok && (s == nucleusv1.ContainerState_CONTAINER_STATE_UNSPECIFIED || s == nucleusv1.ContainerState_CONTAINER_STATE_REMOVED) {
			continue // never stored; reported only if a record ever says so
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), StateName(s))
	}
}

// StateName is the label value of a state: CONTAINER_STATE_RUNNING → "running".
func StateName(s nucleusv1.ContainerState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CONTAINER_STATE_"))
}
