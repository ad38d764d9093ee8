package supervisor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStopSignals(t *testing.T) {
	for _, c := range []struct {
		running  bool
		sig      unix.Signal
		grace    time.Duration
		first    unix.Signal
		escalate bool
	}{
		{true, 0, time.Second, unix.SIGTERM, true},
		{true, unix.SIGINT, time.Second, unix.SIGINT, true},
		{true, 0, 0, unix.SIGKILL, false},
		{false, 0, time.Second, unix.SIGKILL, false}, // created: nothing to signal gently
		{true, unix.SIGKILL, time.Second, unix.SIGKILL, false},
	} {
		first, escalate := StopSignals(c.running, c.sig, c.grace)
		if first != c.first || escalate != c.escalate {
			t.Errorf("StopSignals(%v, %v, %v) = %v, %v; want %v, %v", c.running, c.sig, c.grace, first, escalate, c.first, c.escalate)
		}
	}
}
