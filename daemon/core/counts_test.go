package core

import (
	"strings"
	"testing"
)

// TestCountsFor: a tenant counts its own containers, root all of them.
func TestCountsFor(t *testing.T) {
	d := storeDaemon(t)
	addRecord(t, d, strings.Repeat("a", 32), "r1", 0, stateRunning)
	addRecord(t, d, strings.Repeat("b", 32), "r2", 0, stateExited)
	addRecord(t, d, strings.Repeat("c", 32), "t1", 1000, stateRunning)
	counts, total, err := d.CountsFor(tenantCaller)
	if err != nil || total != 1 || counts[stateRunning] != 1 || counts[stateExited] != 0 {
		t.Errorf("tenant counts = %v %d %v, want 1 running", counts, total, err)
	}
	counts, total, _ = d.CountsFor(rootCaller)
	if total != 3 || counts[stateRunning] != 2 || counts[stateExited] != 1 {
		t.Errorf("root counts = %v %d", counts, total)
	}
}
