package config

import (
	"testing"
	"time"
)

func TestDurationText(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "0s": 0, "500ms": 500 * time.Millisecond, "10s": 10 * time.Second, "1h30m": 90 * time.Minute,
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || d.Std() != want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"", "10", "ten seconds", "1d"} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("UnmarshalText(%q) = %v, want an error", in, d)
		}
	}
	if b, _ := Duration(90 * time.Second).MarshalText(); string(b) != "1m30s" {
		t.Errorf("MarshalText = %q, want 1m30s", b)
	}
}
