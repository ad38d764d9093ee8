package network_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkAttachDetach measures the network part of a container's cold
// start and of its delete (the daemon's store adds its own lease write):
// wall time of each, and the process's CPU time (user+system, the kernel's
// netlink and nftables work included) per attach+detach.
func BenchmarkAttachDetach(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	var attach, detach time.Duration
	p := allowlist([]string{"allowed.test", "*.wild.test"}, "203.0.113.0/24")
	cpu0 := cpuTime(b)
	for i := range b.N {
		id := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		if _, err := e.m.Attach(ctx, id, p, nil); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := e.m.Detach(ctx, id); err != nil {
			b.Fatal(err)
		}
		attach += mid.Sub(start)
		detach += time.Since(mid)
	}
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(attach.Microseconds())/float64(b.N)/1000, "attach-ms")
	b.ReportMetric(float64(detach.Microseconds())/float64(b.N)/1000, "detach-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/1000, "cpu-ms")
}

func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
