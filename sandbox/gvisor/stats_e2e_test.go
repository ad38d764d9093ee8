package gvisor_test

import (
	"context"
	"testing"
	"time"
)

// TestE2EStats: a sample over the control socket reads what `runsc events
// --stats` reads, in a fraction of its time.
func TestE2EStats(t *testing.T) {
	r, id := sandboxFor(t)
	c := clientFor(t, r)
	begin := time.Now()
	const n = 20
	for range n {
		st, pid, err := c.Stats(id)
		if err != nil {
			t.Fatal(err)
		}
		if st.MemoryUsage == 0 || st.PidsCurrent == 0 || pid <= 0 {
			t.Fatalf("stats %+v, sandbox pid %d: want memory in use, a process and the sandbox's pid", st, pid)
		}
	}
	direct := time.Since(begin) / n
	begin = time.Now()
	for range n {
		if _, err := r.Stats(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	process := time.Since(begin) / n
	t.Logf("one stats sample: %v over the control socket, %v through runsc events", direct, process)
	if direct > process {
		t.Errorf("a sample over the control socket (%v) is slower than a runsc process (%v)", direct, process)
	}
	if _, _, err := c.Stats("ffffffffffffffffffffffffffffffff"); err == nil {
		t.Error("stats of a container without runsc state succeeded")
	}
}
