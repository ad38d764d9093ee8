package main

import (
	"testing"
	"time"
)

func TestParseTimehistSummary(t *testing.T) {
	out := []byte(`           Time    CPU  Task name                       Wait time  Sch delay   Run time
   31648.310274 [0001]  nucleusctl[16793]                   0.000      0.000      0.120
Runtime summary
                          comm  parent   sched-in     run-time    min-run     avg-run     max-run  stddev  migrations
                                          (count)       (msec)     (msec)      (msec)      (msec)       %
---------------------------------------------------------------------------------------------------------------------
               nucleusd[4301]       1         20        2.500      0.005       0.006       0.006    6.94       0
          nucleusd[4305/4301]       1         10        1.250      0.021       0.021       0.021    0.00       0
        nucleus-supervi[77]       1          6        0.379      0.027       0.063       0.192   41.12       0
          kworker/1:0-eve[449]       2          2        0.079      0.025       0.039       0.053   35.32       0

Terminated tasks:
                   nucleusctl[4302]    4301          2        1.457      0.284       0.728       1.172   60.94       0
                   nucleusctl[4309]    4301          2        0.543      0.284       0.728       1.172   60.94       0

Idle stats:
    CPU  0 idle for    300.069  msec  ( 99.35%)
`)
	got, err := parseTimehistSummary(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		"nucleusd":        3750 * time.Microsecond,
		"nucleus-supervi": 379 * time.Microsecond,
		"kworker/1:0-eve": 79 * time.Microsecond,
		"nucleusctl":      2 * time.Millisecond,
	}
	for k, w := range want {
		if d := got[k] - w; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s: %v, want %v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("names %v, want %d (the task lines before the summary do not count)", got, len(want))
	}
	if _, err := parseTimehistSummary([]byte("perf: no samples\n")); err == nil {
		t.Error("output without a summary parsed")
	}
}

func TestRoundTotals(t *testing.T) {
	ms := time.Millisecond
	got := roundTotals(map[string][]time.Duration{"nucleusd": {7 * ms, 6 * ms}, "nucleus-supervi": {12 * ms, 13 * ms}})
	if len(got) != 2 || got[0] != 19*ms || got[1] != 19*ms {
		t.Errorf("roundTotals = %v, want [19ms 19ms]", got)
	}
}
