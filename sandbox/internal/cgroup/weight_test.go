package cgroup

import (
	"os"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/testutil"
)

func TestSetCPUSharesRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		path   string
		shares uint64
	}{{"/nucleus-test", 1}, {"/nucleus-test", 262145}, {"relative", 512}, {"/", 512}, {"/a/../b", 512}, {"", 512}} {
		if _, err := SetCPUShares(c.path, c.shares); err == nil {
			t.Errorf("SetCPUShares(%q, %d) succeeded", c.path, c.shares)
		}
	}
}

// TestSetCPUShares writes a real cgroup (root only).
func TestSetCPUShares(t *testing.T) {
	testutil.RequireRoot(t, "to write a cgroup")
	const path = "/nucleus-unit-test-weight"
	file, err := SetCPUShares(path, 300)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(strings.TrimSuffix(file, "/cpu.shares"))
	defer os.Remove(strings.TrimSuffix(file, "/cpu.weight"))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "300"
	if strings.HasSuffix(file, "cpu.weight") {
		want = "12"
	}
	if got := strings.TrimSpace(string(data)); got != want {
		t.Errorf("%s = %s, want %s", file, got, want)
	}
}
