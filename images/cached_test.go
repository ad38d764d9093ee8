package images

import (
	"context"
	"testing"

	"nucleus.dev/nucleus/images/imagestest"
)

// TestPullCachedReportsEveryLayer: a pull of an image already stored (by
// tag, which re-resolves the manifest, and by digest, which does not)
// still reports each layer once, complete and marked cached, then done, so
// a client's per-layer display matches a downloading pull's.
func TestPullCachedReportsEveryLayer(t *testing.T) {
	reg := newTestRegistry(t)
	img := imagestest.Image(t, v1Config(), imagestest.Layer(t, imagestest.File("a", "a")), imagestest.Layer(t, imagestest.File("b", "bb")), imagestest.Layer(t, imagestest.Dir("c")))
	ref := reg.push(t, "test/cached:v1", img)
	s, _ := openStore(t, testPolicy(reg))
	rec, err := s.Pull(context.Background(), ref, root0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, again := range []string{ref, reg.host + "/test/cached@" + rec.Digest} {
		var reports []Progress
		if _, err := s.Pull(context.Background(), again, root0, func(p Progress) { reports = append(reports, p) }); err != nil {
			t.Fatalf("pull %s again: %v", again, err)
		}
		seen := map[string]int{}
		for _, p := range reports {
			if p.Layer == "" {
				continue
			}
			seen[p.Layer]++
			if p.Phase != PhaseCached || p.Done != p.Total || p.Total <= 0 {
				t.Errorf("pull %s again: layer report %+v, want cached with done == total > 0", again, p)
			}
		}
		for _, l := range rec.Layers {
			if seen[l.Digest] != 1 {
				t.Errorf("pull %s again: layer %s reported %d times, want once; reports %+v", again, short(l.Digest), seen[l.Digest], reports)
			}
		}
		if len(reports) == 0 || reports[len(reports)-1].Phase != PhaseDone {
			t.Errorf("pull %s again: last report is not done: %+v", again, reports)
		}
	}
}
