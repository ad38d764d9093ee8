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
// itself to the container's CPUs. Nothing of the daemon's own environment
// (a credential an operator exported, say) reaches any of the three.
func TestE2ESupervisorRunsOnOneP(t *testing.T) {
	const secret = "NUCLEUS_TEST_DAEMON_SECRET=hunter2"
	t.Setenv("NUCLEUS_TEST_DAEMON_SECRET", "hunter2")
	e := newEnv(t)
	id, st, _ := e.run("sleep 60", CreateOptions{}, testbundle.Options{})
	defer func() { _, _ = e.m.Stop(context.Background(), id, 0) }()
	want := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", supervisorEnv + "=1", "GOMAXPROCS=1"}
	if env := environ(t, st.SupervisorPid); !slices.Equal(env, want) {
		t.Errorf("supervisor %d environment %q, want %q", st.SupervisorPid, env, want)
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
		env := environ(t, pid)
		if slices.ContainsFunc(env, func(v string) bool { return strings.HasPrefix(v, "GOMAXPROCS=") }) {
			t.Errorf("the %s (pid %d) inherited GOMAXPROCS: %q", name, pid, env)
		}
		if slices.Contains(env, secret) {
			t.Errorf("the %s (pid %d) has the daemon's environment: %q", name, pid, env)
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
