package supervisor

import (
	"strings"
	"testing"
	"time"
)

// fakeProcess is a process whose files left to finalizers close only once
// it collects garbage.
type fakeProcess struct {
	st        processState
	finalized processState // the state after a collection
	probes    int
	collects  int
	collectAt int // the probe count at the collection
}

func (p *fakeProcess) probe() (processState, error) {
	p.probes++
	return p.st, nil
}

func (p *fakeProcess) collect() {
	p.collects++
	p.collectAt = p.probes
	p.st = p.finalized
}

// TestAwaitBaselineCollectsLeftFiles: files above the first container's
// count that only finalizers close (a pod member's connections to its
// sandbox) are gone after one collection at the pollsBeforeGC-th probe,
// not after settleTimeout; a state already back costs no collection; one
// that never comes back fails at the deadline after a single collection;
// more than pidfdsBeforeGC pidfds are collected at once.
func TestAwaitBaselineCollectsLeftFiles(t *testing.T) {
	first := &processState{goroutines: 5, fds: 18}
	soon := func() time.Time { return time.Now().Add(2 * time.Second) }

	left := &fakeProcess{st: processState{goroutines: 5, fds: 20}, finalized: processState{goroutines: 5, fds: 18}}
	start := time.Now()
	st, err := awaitBaseline(first, soon(), left.probe, left.collect)
	if err != nil || st.fds != 18 || left.collects != 1 || left.collectAt != pollsBeforeGC+1 {
		t.Fatalf("files left to finalizers: %+v %v; %d collections at probe %d", st, err, left.collects, left.collectAt)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("back at the baseline after %v", took)
	}

	back := &fakeProcess{st: processState{goroutines: 4, fds: 18, pidfds: 2}}
	if _, err := awaitBaseline(first, soon(), back.probe, back.collect); err != nil || back.collects != 0 || back.probes != 1 {
		t.Errorf("a process already back: %v, %d collections, %d probes", err, back.collects, back.probes)
	}
	if _, err := awaitBaseline(nil, soon(), back.probe, back.collect); err != nil || back.collects != 0 {
		t.Errorf("the first container: %v, %d collections", err, back.collects)
	}

	pidfds := &fakeProcess{st: processState{goroutines: 5, fds: 18, pidfds: pidfdsBeforeGC + 1}, finalized: processState{goroutines: 5, fds: 18}}
	if _, err := awaitBaseline(first, soon(), pidfds.probe, pidfds.collect); err != nil || pidfds.collects != 1 || pidfds.collectAt != 1 {
		t.Errorf("%d pidfds: %v, %d collections at probe %d", pidfdsBeforeGC+1, err, pidfds.collects, pidfds.collectAt)
	}

	leak := &fakeProcess{st: processState{goroutines: 6, fds: 18}, finalized: processState{goroutines: 6, fds: 18}}
	_, err = awaitBaseline(first, time.Now().Add(100*time.Millisecond), leak.probe, leak.collect)
	if err == nil || !strings.Contains(err.Error(), "6 goroutines") || leak.collects != 1 {
		t.Errorf("a goroutine that never ends: %v, %d collections", err, leak.collects)
	}
}
