package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"nucleus.dev/nucleus/internal/testutil"
)

func TestSelf(t *testing.T) {
	dir, err := Dir(os.Getpid(), "memory")
	if err != nil {
		testutil.Unavailable(t, "no memory cgroup here: "+err.Error())
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Dir = %q: %v", dir, err)
	}
	if _, err := OOMKills(dir); err != nil {
		t.Logf("OOMKills(%s): %v (root cgroup may lack the file)", dir, err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
	write("memory.limit_in_bytes", "67108864\n")
	write("pids.max", "max\n")
	if n, err := OOMKills(dir); err != nil || n != 3 {
		t.Errorf("OOMKills = %d, %v", n, err)
	}
	if n, err := MemoryLimit(dir); err != nil || n != 64<<20 {
		t.Errorf("MemoryLimit = %d, %v", n, err)
	}
	if n, err := PidsLimit(dir); err != nil || n != 0 {
		t.Errorf("PidsLimit = %d, %v", n, err)
	}
	write("memory.limit_in_bytes", "9223372036854771712\n")
	if n, _ := MemoryLimit(dir); n != 0 {
		t.Errorf("unlimited v1 limit = %d", n)
	}
}

// TestCPUUsage: v1's cpuacct.usage is nanoseconds, v2's cpu.stat
// usage_usec microseconds; neither file is an error.
func TestCPUUsage(t *testing.T) {
	v1, v2 := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(v1, "cpuacct.usage"), []byte("123456789\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v2, "cpu.stat"), []byte("usage_usec 2500\nuser_usec 2000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := CPUUsage(v1); err != nil || n != 123456789 {
		t.Errorf("v1 CPUUsage = %d, %v", n, err)
	}
	if n, err := CPUUsage(v2); err != nil || n != 2500000 {
		t.Errorf("v2 CPUUsage = %d, %v", n, err)
	}
	if _, err := CPUUsage(t.TempDir()); err == nil {
		t.Error("CPUUsage of a directory without either file: no error")
	}
}

// TestMountsDirAgreesWithDir: a mount table read once names the same
// directories as a fresh read for every controller this process is in.
func TestMountsDirAgreesWithDir(t *testing.T) {
	m, err := ReadMounts()
	if err != nil || len(m) == 0 {
		testutil.Unavailable(t, fmt.Sprintf("no cgroup mounts here: %v", err))
	}
	for _, c := range []string{"memory", "pids", "cpuacct"} {
		want, err1 := Dir(os.Getpid(), c)
		got, err2 := m.Dir(os.Getpid(), c)
		if got != want || (err1 == nil) != (err2 == nil) {
			t.Errorf("%s: Mounts.Dir = %q, %v; Dir = %q, %v", c, got, err2, want, err1)
		}
	}
	if _, err := m.Dir(1<<30, "memory"); err == nil {
		t.Error("Dir of a pid that does not exist: no error")
	}
}

// TestRemoveRefusesPathsOutsideAContainer: only a clean absolute path below
// the root is removed anywhere; a missing one is no error.
func TestRemoveRefusesPathsOutsideAContainer(t *testing.T) {
	var table MountTable
	mounts, err := table.Get()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := table.Get(); err != nil || len(again) != len(mounts) {
		t.Fatalf("the kept table: %v, %v; first read %v", again, err, mounts)
	}
	for _, p := range []string{"", "/", "nucleus/x", "/nucleus/../x", "/nucleus/x/"} {
		if err := mounts.Remove(p); err == nil {
			t.Errorf("Remove(%q) = nil, want an error", p)
		}
	}
	if err := mounts.Remove("/nucleus-unit-test-absent/0123456789abcdef"); err != nil {
		t.Errorf("Remove of a cgroup no hierarchy has: %v", err)
	}
}
