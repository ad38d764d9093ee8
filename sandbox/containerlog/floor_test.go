package containerlog

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFloorDropsOutputAndSaysSo: below the free-space floor, output is
// dropped (nothing written); once space returns, a marker entry counts the
// dropped bytes and output is written again.
func TestFloorDropsOutputAndSaysSo(t *testing.T) {
	path := logPath(t)
	c := newClock()
	var free atomic.Int64
	free.Store(1 << 30)
	w := mustWriter(t, path, Options{Now: c.Now, MinFreeBytes: 64 << 20, FreeBytes: func() (int64, error) { return free.Load(), nil }})
	mustWrite(t, w.Stdout(), "before\n")
	free.Store(1 << 20) // below the floor
	c.Set(c.Now().Add(time.Second))
	mustWrite(t, w.Stdout(), "dropped one\n")
	mustWrite(t, w.Stdout(), "dropped two\n")
	free.Store(1 << 30)
	c.Set(c.Now().Add(time.Second))
	mustWrite(t, w.Stdout(), "after\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := short(readAll(t, path, all))
	if len(got) != 3 || got[0] != "o:before" || got[2] != "o:after" {
		t.Fatalf("log %q: want before, a marker, after", got)
	}
	if !strings.HasPrefix(got[1], "n:") || !strings.Contains(got[1], "bytes of output dropped") || !strings.Contains(got[1], "min_free_disk") {
		t.Fatalf("marker %q", got[1])
	}
	if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "dropped one") }) {
		t.Fatal("output below the floor was written")
	}
}

// TestFloorLooksAtTheDiskSparingly: a flood of small writes asks for the
// free space at most every floorCheckBytes or floorCheckEvery, not per
// write.
func TestFloorLooksAtTheDiskSparingly(t *testing.T) {
	path := logPath(t)
	c := newClock()
	var calls atomic.Int64
	w := mustWriter(t, path, Options{Now: c.Now, MinFreeBytes: 1, FreeBytes: func() (int64, error) { calls.Add(1); return 1 << 40, nil }})
	line := strings.Repeat("x", 99) + "\n"
	for range 20_000 { // 2 MB at one instant
		mustWrite(t, w.Stdout(), line)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n > 4 {
		t.Fatalf("free space asked %d times for 2 MB written at one instant; want at most 4", n)
	}
}
