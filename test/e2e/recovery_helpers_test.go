package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// recIDPattern finds container ids (32 lowercase hex) in paths and cmdlines.
var recIDPattern = regexp.MustCompile(`[0-9a-f]{32}`)

// artifacts lists, per container id, everything of it found on the host
// under the daemon's directory: container and supervisor directories,
// secrets, runsc state (files and `runsc list`), mounts and processes.
// Things that name no id are listed under "".
func recArtifacts(d *Daemon) map[string][]string {
	out := map[string][]string{}
	add := func(what, text string) {
		ids := recIDPattern.FindAllString(text, -1)
		if len(ids) == 0 {
			out[""] = append(out[""], what)
			return
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out[id] = append(out[id], what)
			}
		}
	}
	for _, sub := range []string{"root/containers", "state/bundles", "state/supervisors", "state/secrets", "state/runsc"} {
		entries, _ := os.ReadDir(filepath.Join(d.Dir, sub))
		for _, e := range entries {
			if sub == "state/runsc" && e.Name() == "null-netns" {
				continue // runsc's shared namespace, not a container's
			}
			add("file "+filepath.Join(sub, e.Name()), e.Name())
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(mi), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], d.Dir+"/") && f[4] != filepath.Join(d.State, "runsc", "null-netns") {
				add("mount "+f[4], f[4])
			}
		}
	}
	daemonPid := -1
	if d.cmd != nil && d.cmd.Process != nil {
		daemonPid = d.cmd.Process.Pid
	}
	for pid, cmdline := range recProcessesMentioning(d.Dir) {
		if pid == daemonPid || isSpareSupervisor(cmdline) {
			continue
		}
		// runsc invocations that name no container (list, version) are
		// passers-by, not leftovers; only ones naming an id count.
		if ids := recIDPattern.FindAllString(cmdline, -1); len(ids) == 0 && strings.Contains(cmdline, " list") {
			continue
		}
		add(fmt.Sprintf("process %d: %s", pid, cmdline), cmdline)
	}
	for _, id := range recRunscList(d) {
		out[id] = append(out[id], "runsc state (runsc list)")
	}
	// Host cgroups (/<parent>/<id>, default parent "nucleus") are shared
	// by every daemon on the host: look only for ids this daemon has
	// mentioned or that left something above.
	ids := map[string]bool{}
	for _, id := range recIDPattern.FindAllString(d.Log(), -1) {
		ids[id] = true
	}
	for id := range out {
		ids[id] = id != ""
	}
	for id := range ids {
		if !ids[id] {
			continue
		}
		cgs, _ := filepath.Glob("/sys/fs/cgroup/*/nucleus/" + id)
		for _, cg := range cgs {
			out[id] = append(out[id], "cgroup "+cg)
		}
	}
	return out
}

// processesMentioning returns pid → cmdline (spaces for NULs) of every
// process whose cmdline contains s.
func recProcessesMentioning(s string) map[int]string {
	out := map[int]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		// A supervisor's command line need not name its container; its
		// working directory does.
		cwd, _ := os.Readlink(filepath.Join(filepath.Dir(p), "cwd"))
		if !bytes.Contains(b, []byte(s)) && !strings.Contains(cwd, s) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		out[pid] = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		if strings.Contains(cwd, s) {
			out[pid] += " (cwd " + cwd + ")"
		}
	}
	return out
}

// runscList returns the ids runsc has state for under the daemon's runsc
// root (nothing when the root does not exist).
func recRunscList(d *Daemon) []string {
	root := filepath.Join(d.State, "runsc")
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, d.Runsc, "--root", root, "list", "-quiet").Output()
	if err != nil {
		return []string{"(runsc list failed: " + err.Error() + ")"}
	}
	return strings.Fields(string(out))
}

// describe renders an artifacts map for failure messages.
func recDescribe(a map[string][]string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(no id)"
		}
		fmt.Fprintf(&b, "\n  %s:", name)
		for _, w := range a[k] {
			fmt.Fprintf(&b, "\n    %s", w)
		}
	}
	return b.String()
}

// waitOnlyKnown polls until every artifact on the host belongs to one of
// known (ids of records the daemon reports) and returns what was left
// otherwise.
func waitOnlyKnown(d *Daemon, known map[string]bool, timeout time.Duration) map[string][]string {
	deadline := time.Now().Add(timeout)
	for {
		stray := map[string][]string{}
		for id, what := range recArtifacts(d) {
			if !known[id] {
				stray[id] = what
			}
		}
		if len(stray) == 0 || time.Now().After(deadline) {
			return stray
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// assertGone checks that id is fully gone: no record and nothing of it on
// the host (directories, supervisor, runsc state, mounts, processes),
// polling for up to timeout.
func recAssertGone(t *testing.T, d *Daemon, c *client.Client, id, what string, timeout time.Duration) {
	t.Helper()
	if _, err := c.Get(context.Background(), id); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("%s (%s): Get = %v, want NotFound", what, id, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		left := recArtifacts(d)[id]
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s (%s) has no record but left behind:\n  %s", what, id, strings.Join(left, "\n  "))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitState polls Get until the container is in state want.
func recWaitState(t *testing.T, c *client.Client, id string, want nucleusv1.ContainerState, timeout time.Duration) *nucleusv1.Container {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *nucleusv1.Container
	var err error
	for time.Now().Before(deadline) {
		last, err = c.Get(context.Background(), id)
		if err == nil && last.GetState() == want {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container %s: not %v within %v; last: %v (err %v)", id, want, timeout, last, err)
	return nil
}

// waitFile polls until path exists.
func recWaitFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stdoutLines returns the container's stdout lines from Logs.
func recStdoutLines(ctx context.Context, c *client.Client, id string) ([]string, error) {
	var lines []string
	err := c.Logs(ctx, &nucleusv1.LogsRequest{Id: id, Streams: nucleusv1.LogStream_LOG_STREAM_STDOUT}, func(e *nucleusv1.LogEntry) error {
		lines = append(lines, string(e.GetContent()))
		return nil
	})
	return lines, err
}

// alive reports whether pid is a live (non-zombie) process.
func recAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// hookDir makes a root-owned 0755 directory for trusted hooks and writes a
// poststop hook into it that appends its stdin (the OCI state) and a
// newline to poststop.log there. It returns the dir and the config.
func recHookDir(t *testing.T) (dir, config string) {
	t.Helper()
	dir = testutil.HookDir(t) // root-owned 0755 under /run: /tmp is world-writable, so refused
	log := filepath.Join(dir, "poststop.log")
	script := fmt.Sprintf("#!/bin/sh\ncat >> %s\necho >> %s\n", log, log)
	if err := os.WriteFile(filepath.Join(dir, "poststop"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	config = fmt.Sprintf("[hooks]\ntrusted_dirs = [%q]\n[hooks.sets.rec]\npoststop = [{ path = %q, args = [\"poststop\"] }]\n",
		dir, filepath.Join(dir, "poststop"))
	return dir, config
}

// hookRuns returns the OCI states the poststop hook recorded, one per run.
func recHookRuns(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "poststop.log"))
	if err != nil {
		return nil
	}
	var runs []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			runs = append(runs, l)
		}
	}
	return runs
}

// killTestProcesses SIGKILLs every process whose cmdline mentions dir and
// waits until they are all gone (a reboot's power cut).
func recKillTestProcesses(t *testing.T, dir string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		procs := recProcessesMentioning(dir)
		if len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes survive SIGKILL: %v", procs)
		}
		for pid := range procs {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unmountUnder detaches every mount under dir, deepest first.
func recUnmountAll(t *testing.T, dir string) {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mounts []string
	for _, line := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("unmount %s: %v", m, err)
		}
	}
}

// logHas reports whether one line of the daemon's log holds every part.
func recLogHas(d *Daemon, parts ...string) bool {
	for _, line := range strings.Split(d.Log(), "\n") {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// unmountNullNetNS detaches every bind mount stacked on runsc's shared null
// network namespace file under the daemon's runsc root.
func unmountNullNetNS(d *Daemon) {
	path := filepath.Join(d.State, "runsc", "null-netns")
	for i := 0; i < 1000 && syscall.Unmount(path, syscall.MNT_DETACH) == nil; i++ {
	}
}

// removeCgroups removes the host cgroups of ids (as a reboot does), waiting
// for their killed tasks to leave them.
func recRemoveCgroups(t *testing.T, ids []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		cgs, _ := filepath.Glob("/sys/fs/cgroup/*/nucleus/" + id)
		for _, cg := range cgs {
			for {
				err := os.Remove(cg)
				if err == nil || errors.Is(err, os.ErrNotExist) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("remove cgroup %s: %v", cg, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// restartWithin restarts the daemon and returns how long it took to
// answer; a daemon that has not answered within limit fails the test.
func restartWithin(t *testing.T, d *Daemon, limit time.Duration) time.Duration {
	t.Helper()
	return d.StartWithin(limit)
}

// recordAfterKill reads name's record straight from the store of a killed
// daemon: nil when there is none.
func recordAfterKill(t *testing.T, d *Daemon, name string) *store.Container {
	t.Helper()
	st, err := store.Open(filepath.Join(d.Root, "nucleus.db"), store.Options{})
	if err != nil {
		t.Fatalf("open the store of the killed daemon: %v", err)
	}
	defer st.Close()
	c, err := st.GetContainer(name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stopCreateOf SIGSTOPs what is creating container id for d and returns
// their pids: its supervisor (which runs gVisor's create in process, or
// `runsc create` when runsc is another build) first, so that it starts
// nothing more, then every runsc process of the daemon (a `runsc create`,
// the gofer and sandbox started so far). Nothing is resumed in between: a
// stop and resume storm on a booting sandbox makes its create fail, which
// is not the slow create this stands for.
func stopCreateOf(d *Daemon, id string) []int {
	var pids []int
	stop := func(pid int) {
		if syscall.Kill(pid, syscall.SIGSTOP) == nil {
			pids = append(pids, pid)
		}
	}
	if pid, ok := supervisor.Running(filepath.Join(d.State, "supervisors", id)); ok {
		stop(pid)
	}
	for pid, cmdline := range recProcessesMentioning(filepath.Join(d.State, "runsc")) {
		if !strings.Contains(cmdline, "nucleus-supervisor") {
			stop(pid)
		}
	}
	return pids
}

// isSpareSupervisor reports whether a process (command line as
// recProcessesMentioning gives it) is the supervisor a running daemon keeps
// started ahead of need: it names the supervisors directory (--parent) but
// has no container yet (its working directory is not in it). It is the
// daemon's, not a container's, and exits with the daemon.
func isSpareSupervisor(cmdline string) bool {
	return strings.Contains(cmdline, "--spec-fd") && !strings.Contains(cmdline, "(cwd ")
}
