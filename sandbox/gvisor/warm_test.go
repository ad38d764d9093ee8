package gvisor

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"gvisor.dev/gvisor/runsc/container"
)

// warmChildEnv makes the test binary time one first encode and exit.
const warmChildEnv = "NUCLEUS_WARM_CHILD"

// TestMain lets the test binary stand in for a fresh supervisor process:
// with warmChildEnv set it encodes runsc's container state once (after
// Warm when the variable says "warm") and prints how long that took.
func TestMain(m *testing.M) {
	if mode := os.Getenv(warmChildEnv); mode != "" {
		if mode == "warm" {
			Warm()
		}
		c := &container.Container{ID: "x", Spec: &specs.Spec{Version: "1.2.1", Process: &specs.Process{Args: []string{"/bin/true"}}}}
		begin := time.Now()
		if _, err := json.Marshal(c); err != nil {
			os.Exit(2)
		}
		fmt.Println(time.Since(begin).Nanoseconds())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// firstEncode runs a fresh process of this test binary and returns how long
// its first encode of the container state took.
func firstEncode(t *testing.T, mode string) time.Duration {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), warmChildEnv+"="+mode)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v", mode, err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("child %s printed %q", mode, out)
	}
	return time.Duration(ns)
}

// TestWarmTakesTheFirstEncodeOffTheCreate: in a fresh process, the first
// encode of runsc's container state (what a create saves at every step)
// builds encoders for the whole type graph; after Warm it is several
// times cheaper. The median of 5 fresh processes each way.
func TestWarmTakesTheFirstEncodeOffTheCreate(t *testing.T) {
	median := func(mode string) time.Duration {
		var d []time.Duration
		for range 5 {
			d = append(d, firstEncode(t, mode))
		}
		for i := range d {
			for j := i + 1; j < len(d); j++ {
				if d[j] < d[i] {
					d[i], d[j] = d[j], d[i]
				}
			}
		}
		return d[len(d)/2]
	}
	cold, warm := median("cold"), median("warm")
	t.Logf("first encode of the container state: %v cold, %v after Warm", cold, warm)
	if warm*3 > cold {
		t.Errorf("after Warm the first encode took %v, cold %v: want it at least 3x cheaper", warm, cold)
	}
}
