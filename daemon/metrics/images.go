package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// images holds the image series: created on demand by WatchImages, so a
// daemon without an image store exports none.
type images struct {
	pulls, failures *prometheus.CounterVec
}

// imageSources label pulls and imports ("pull", "import").
var imageSources = []string{"pull", "import"}

// WatchImages registers nucleus_image_pulls_total{source},
// nucleus_image_pull_failures_total{source} and nucleus_image_bytes, the
// bytes of the image store (blobs and unpacked trees) that bytes reports at
// each scrape. Call it once, when the image store is open.
func (m *Metrics) WatchImages(bytes func() float64) error {
	if m == nil {
		return nil
	}
	im := &images{
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "image_pulls_total",
			Help: "Image pulls and imports that completed, by source (pull, import).",
		}, []string{"source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "image_pull_failures_total",
			Help: "Image pulls and imports that failed, by source (pull, import).",
		}, []string{"source"}),
	}
	for _, s := range imageSources {
		im.pulls.WithLabelValues(s)
		im.failures.WithLabelValues(s)
	}
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "image_bytes",
		Help: "Bytes on disk of every image: compressed blobs plus unpacked trees.",
	}, bytes)
	for _, c := range []prometheus.Collector{im.pulls, im.failures, size} {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	m.images = im
	return nil
}

// ObserveImagePull counts a finished pull or import (source "pull" or
// "import"), failed or not.
func (m *Metrics) ObserveImagePull(source string, err error) {
	if m == nil || m.images == nil {
		return
	}
	if err != nil {
		m.images.failures.WithLabelValues(source).Inc()
		return
	}
	m.images.pulls.WithLabelValues(source).Inc()
}
