package cgroup

import (
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

// TestRemoveRefusesPathsOutsideAContainer: only a clean absolute path below
// the root is removed anywhere; a missing one is no error.
func TestRemoveRefusesPathsOutsideAContainer(t *testing.T) {
	for _, p := range []string{"", "/", "nucleus/x", "/nucleus/../x", "/nucleus/x/"} {
		if err := Remove(p); err == nil {
			t.Errorf("Remove(%q) = nil, want an error", p)
		}
	}
	if err := Remove("/nucleus-unit-test-absent/0123456789abcdef"); err != nil {
		t.Errorf("Remove of a cgroup no hierarchy has: %v", err)
	}
}
