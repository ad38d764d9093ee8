package app

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestThreadCapacity(t *testing.T) {
	for _, tc := range []struct {
		limits  map[string]int
		want    int
		binding string
	}{
		{map[string]int{"pid_max": 32768, "threads-max": 192739}, 819, "pid_max"},
		{map[string]int{"pid_max": 4194304, "threads-max": 192739}, 4818, "threads-max"},
		{map[string]int{"pid_max": 0}, 0, ""},
		{map[string]int{}, 0, ""},
	} {
		got, binding := threadCapacity(tc.limits)
		if got != tc.want || binding != tc.binding {
			t.Errorf("%v: %d %q, want %d %q", tc.limits, got, binding, tc.want, tc.binding)
		}
	}
}

// TestWarnOnThreadLimits: with this host's real limits, the warning
// appears exactly when max_containers exceeds what they hold.
func TestWarnOnThreadLimits(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	warnOnThreadLimits(zap.New(core), 1)
	if logs.Len() != 0 {
		t.Fatalf("warned for one container: %v", logs.All())
	}
	warnOnThreadLimits(zap.New(core), 1<<30)
	if logs.Len() != 1 {
		t.Fatalf("no warning for 2^30 containers: %v", logs.All())
	}
	t.Log(logs.All()[0].Message)
}
