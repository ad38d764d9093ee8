package network

import (
	"net/netip"
	"testing"
	"time"
)

func TestIntervalElements(t *testing.T) {
	p := func(s ...string) (out []netip.Prefix) {
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	show := func(ps []netip.Prefix) (out []string) {
		for _, e := range intervalElements(ps) {
			a, _ := netip.AddrFromSlice(e.Key)
			s := a.String()
			if e.IntervalEnd {
				s = "end " + s
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		in   []netip.Prefix
		want []string
	}{
		{p("10.0.0.0/8"), []string{"end 0.0.0.0", "10.0.0.0", "end 11.0.0.0"}},
		{p("10.1.0.0/16", "10.0.0.0/8", "203.0.113.7/32"), []string{"end 0.0.0.0", "10.0.0.0", "end 11.0.0.0", "203.0.113.7", "end 203.0.113.8"}},
		{p("0.0.0.0/0"), []string{"0.0.0.0"}},
		{p("10.0.0.0/9", "10.128.0.0/9"), []string{"end 0.0.0.0", "10.0.0.0", "end 11.0.0.0"}},
		{p("fe80::/10"), nil},
	} {
		got := show(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%v: got %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%v: got %v, want %v", tc.in, got, tc.want)
				break
			}
		}
	}
}

func TestLogWindow(t *testing.T) {
	var w logWindow
	now := time.Unix(1000, 0)
	logged := 0
	for range 100 {
		if ok, _ := w.allow(now); ok {
			logged++
		}
	}
	if logged != deniedLogsPerMinute {
		t.Fatalf("logged %d of 100 in one minute, want %d", logged, deniedLogsPerMinute)
	}
	ok, withheld := w.allow(now.Add(time.Minute))
	if !ok || withheld != 100-deniedLogsPerMinute {
		t.Fatalf("next minute: ok=%v withheld=%d", ok, withheld)
	}
}
