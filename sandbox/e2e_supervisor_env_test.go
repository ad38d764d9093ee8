package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"nucleus.dev/nucleus/sandbox/internal/testbundle"
)

// TestE2ESupervisorRunsOnOneP checks that a supervisor runs with one P
// (GOMAXPROCS=1 in its environment, for its CPU) and that neither the
// sandbox nor the gofer it starts inherits that: the sentry must size
// itself to the container's CPUs.
func TestE2ESupervisorRunsOnOneP(t *testing.T) {
	e := newEnv(t)
	id, st, _ := e.run("sleep 60", CreateOptions{}, testbundle.Options{})
	defer func() { _, _ = e.m.Stop(context.Background(), id, 0) }()
	if env := environ(t, st.SupervisorPid); !slices.Contains(env, "GOMAXPROCS=1") {
		t.Errorf("supervisor %d environment %q: no GOMAXPROCS=1", st.SupervisorPid, env)
	}
	gofer := 0
	for _, pid := range childrenOf(t, st.SupervisorPid) {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if bytes.Contains(cmdline, []byte("\x00gofer\x00")) {
			gofer = pid
		}
	}
	if gofer == 0 {
		t.Fatalf("no gofer among the supervisor's children %v", childrenOf(t, st.SupervisorPid))
	}
	for name, pid := range map[string]int{"sandbox": st.SandboxPid, "gofer": gofer} {
		if env := environ(t, pid); slices.ContainsFunc(env, func(v string) bool { return strings.HasPrefix(v, "GOMAXPROCS=") }) {
			t.Errorf("the %s (pid %d) inherited GOMAXPROCS: %q", name, pid, env)
		}
	}
}

// environ is process pid's environment.
func environ(t *testing.T, pid int) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, en := range entries {
		child, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", en.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}
