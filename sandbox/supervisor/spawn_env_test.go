package supervisor

import (
	"slices"
	"testing"
)

func TestSupervisorEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out []string
	}{
		{"empty", nil, []string{defaultPath, "GOMAXPROCS=1"}},
		{"profiling", []string{"NUCLEUS_CPUPROFILE=/p"}, []string{defaultPath, "NUCLEUS_CPUPROFILE=/p", "GOMAXPROCS=1"}},
		{"a PATH and a GOMAXPROCS already set are kept", []string{"PATH=/opt/bin", "GOMAXPROCS=2"}, []string{"PATH=/opt/bin", "GOMAXPROCS=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := supervisorEnv(in); !slices.Equal(got, tc.out) {
				t.Errorf("supervisorEnv(%q) = %q, want %q", tc.in, got, tc.out)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("supervisorEnv changed its argument to %q", in)
			}
		})
	}
}
