package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCPUModel: the first model name of a cpuinfo file, "unknown" without.
func TestCPUModel(t *testing.T) {
	dir := t.TempDir()
	info := filepath.Join(dir, "cpuinfo")
	text := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: other\n"
	if err := os.WriteFile(info, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := cpuModel(info); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(filepath.Join(dir, "missing")); got != "unknown" {
		t.Errorf("cpuModel of a missing file = %q", got)
	}
}

// TestMachineLine: every fact reaches the header; an old results file
// without them prints none.
func TestMachineLine(t *testing.T) {
	h := map[string]string{"cpu_model": "M", "cpus": "2", "virtualization": "vm: kvm, container: none", "empty_go_start": "1.00 ms", "runsc_version": "5.00 ms"}
	line := machineLine(h)
	for _, want := range []string{"M, 2 CPUs", "vm: kvm", "empty Go program 1.00 ms", "runsc --version 5.00 ms"} {
		if !strings.Contains(line, want) {
			t.Errorf("machine line %q lacks %q", line, want)
		}
	}
	if machineLine(map[string]string{"cpus": "2"}) != "" {
		t.Error("a line for results without machine facts")
	}
}
