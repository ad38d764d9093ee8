package core

import (
	"math"
	"testing"
)

// TestReplayStart: since at or beyond the newest sequence, up to
// MaxUint64, follows from now without a pruned warning; an older since
// replays and warns only when events after it are gone.
func TestReplayStart(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	for _, c := range []struct {
		since          *uint64
		oldest, newest uint64
		last           uint64
		lost           bool
	}{
		{nil, 10, 20, 20, false},
		{u(math.MaxUint64), 10, 20, 20, false},
		{u(math.MaxUint64), 0, 0, 0, false},
		{u(21), 10, 20, 20, false},
		{u(20), 10, 20, 20, false},
		{u(15), 10, 20, 15, false},
		{u(9), 10, 20, 9, false},
		{u(3), 10, 20, 3, true},
		{u(0), 1, 20, 0, false},
		{u(0), 0, 0, 0, false},
	} {
		last, lost := replayStart(c.since, c.oldest, c.newest)
		if last != c.last || lost != c.lost {
			t.Errorf("replayStart(%v, %d, %d) = %d, %v; want %d, %v", c.since, c.oldest, c.newest, last, lost, c.last, c.lost)
		}
	}
}

// TestSubscribeSinceMaxUint64: through the bus, since MaxUint64 replays
// nothing, flags nothing, and the next event arrives.
func TestSubscribeSinceMaxUint64(t *testing.T) {
	b := openBus(t, 100)
	publishN(t, b, "a", 5)
	since := uint64(math.MaxUint64)
	evs, lost := collect(t, b, EventFilter{Since: &since}, 1, func() { publishN(t, b, "b", 1) })
	if evs[0].GetContainerId() != "b" || evs[0].GetSequence() != 6 || lost[0] {
		t.Errorf("since MaxUint64: got %v (lost %v), want the live event 6 with no pruned flag", evs[0], lost[0])
	}
}
