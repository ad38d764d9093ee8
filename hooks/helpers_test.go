package hooks

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/testutil"
)

// requireRoot fails under CI and skips elsewhere when not root: the chown
// and setuid cases need it.
func requireRoot(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t, "to chown hooks and set setuid bits")
}

// writeScript writes a /bin/sh script with mode 0755 (whatever the umask).
func writeScript(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	chmod(t, path, 0o755)
	return path
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// newRunner builds a Runner with one set, "test", trusting dir.
func newRunner(t *testing.T, dir string, set Set, opts ...Option) *Runner {
	t.Helper()
	r, err := New(Config{Sets: map[string]Set{"test": set}}, append([]Option{WithTrustedDirs(dir)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func testState(id string) specs.State {
	return specs.State{
		ID:          id,
		Status:      specs.StateCreated,
		Pid:         4242,
		Bundle:      "/var/lib/nucleus/bundles/" + id,
		Annotations: map[string]string{"org.example/a": "b"},
	}
}

// run runs the "test" set's createRuntime hooks strictly with a 30s cap.
func run(t *testing.T, r *Runner) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return r.Run(ctx, "test", CreateRuntime, testState("c1"))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// processGone reports whether pid no longer runs (absent or a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || len(s) < i+3 || s[i+2] == 'Z' || s[i+2] == 'X'
}

// waitGone polls processGone for up to d.
func waitGone(pid int, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if processGone(pid) {
			return true
		}
	}
	return processGone(pid)
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil {
			if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid
			}
		}
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(parts...)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// settledGoroutines polls runtime.NumGoroutine for up to 2s until it is at
// most target (or, for target 0, stable) and returns it.
func settledGoroutines(target int) int {
	n := runtime.NumGoroutine()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if target > 0 && n <= target {
			break
		}
		m := runtime.NumGoroutine()
		if target == 0 && m == n {
			break
		}
		n = m
	}
	return n
}
