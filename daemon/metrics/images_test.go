package metrics

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestImageMetrics(t *testing.T) {
	m := New()
	m.ObserveImagePull("pull", nil) // before WatchImages: ignored
	if err := m.WatchImages(func() float64 { return 42 }); err != nil {
		t.Fatal(err)
	}
	m.ObserveImagePull("pull", nil)
	m.ObserveImagePull("pull", errors.New("x"))
	m.ObserveImagePull("import", nil)
	if got := testutil.ToFloat64(m.images.pulls.WithLabelValues("pull")); got != 1 {
		t.Errorf("pulls = %v", got)
	}
	if got := testutil.ToFloat64(m.images.failures.WithLabelValues("pull")); got != 1 {
		t.Errorf("pull failures = %v", got)
	}
	n, err := testutil.GatherAndCount(m.Registry(), "nucleus_image_bytes", "nucleus_image_pulls_total", "nucleus_image_pull_failures_total")
	if err != nil || n != 5 {
		t.Errorf("image series = %d (%v), want 5", n, err)
	}
	var nilM *Metrics
	nilM.ObserveImagePull("pull", nil)
}
