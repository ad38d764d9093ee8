package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/sandbox/containerlog"
	"nucleus.dev/nucleus/sandbox/internal/testbundle"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

const (
	supervisorEnv = "NUCLEUS_SUPERVISOR_TEST"
	spawnerEnv    = "NUCLEUS_SPAWNER_TEST"
	cgroupParent  = "nucleus-test"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(supervisorEnv) == "1":
		os.Exit(supervisor.Main(os.Args[1:]))
	case os.Getenv(spawnerEnv) == "1":
		os.Exit(spawnerMain(os.Args[1:]))
	}
	code := m.Run()
	// runsc delete removes each container's cgroup; remove their parents.
	parents, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgroupParent)
	for _, p := range parents {
		_ = os.Remove(p)
	}
	os.Exit(code)
}

// env is one test's daemon world: its own --root, --state and runsc root.
type env struct {
	t    *testing.T
	dir  string
	cfg  Config
	m    *Manager
	ids  []string
	self string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	bin := testutil.Runsc(t)
	// Short: unix socket paths must fit in 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "nt")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, self: self}
	e.cfg = Config{
		RootDir:           filepath.Join(dir, "root"),
		StateDir:          filepath.Join(dir, "state"),
		Runsc:             runsc.Runsc{Binary: bin},
		SupervisorCommand: []string{self},
		SupervisorEnv:     []string{supervisorEnv + "=1"},
		Logger:            zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	}
	e.m = e.manager()
	t.Cleanup(e.cleanup)
	return e
}

// manager makes a fresh Manager over the same directories: what a
// restarted daemon gets.
func (e *env) manager() *Manager {
	m, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// bundle picks a new id and writes its bundle.
func (e *env) bundle(o testbundle.Options) string {
	e.t.Helper()
	id, err := NewID()
	if err != nil {
		e.t.Fatal(err)
	}
	o.CgroupsPath = "/" + cgroupParent + "/" + id
	if err := testbundle.Write(e.m.Paths(id).Bundle, o); err != nil {
		e.t.Fatal(err)
	}
	e.ids = append(e.ids, id)
	return id
}

// run creates and starts a container running sh -c script.
func (e *env) run(script string, o CreateOptions, b testbundle.Options) (string, Status, time.Duration) {
	e.t.Helper()
	b.Args = []string{"/bin/sh", "-c", script}
	id := e.bundle(b)
	o.Start = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	st, err := e.m.Create(ctx, id, o)
	if err != nil {
		e.t.Fatalf("create+start: %v", err)
	}
	return id, st, time.Since(start)
}

func (e *env) wait(id string, d time.Duration) ExitStatus {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ex, err := e.m.Wait(ctx, id)
	if err != nil {
		e.t.Fatalf("wait %s: %v", id, err)
	}
	return ex
}

// logs returns the container's output per stream, reassembled from the
// entries (content + newline for full entries).
func (e *env) logs(id string) map[string][]byte {
	e.t.Helper()
	out := map[string][]byte{}
	err := containerlog.Read(context.Background(), e.m.Paths(id).Log, containerlog.ReadOptions{Tail: -1}, func(en containerlog.Entry) error {
		out[en.Stream] = append(out[en.Stream], en.Content...)
		if !en.Partial {
			out[en.Stream] = append(out[en.Stream], '\n')
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("reading log: %v", err)
	}
	return out
}

// cleanup deletes every container and checks that nothing is left.
func (e *env) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m := e.manager()
	for _, id := range e.ids {
		if err := m.Delete(ctx, id, DeleteOptions{Force: true}); err != nil {
			e.t.Errorf("cleanup: delete %s: %v", id, err)
			_ = m.runsc.Delete(ctx, id, true)
		}
		e.assertGone(id)
	}
	_ = unix.Unmount(filepath.Join(e.m.runsc.Root, "null-netns"), unix.MNT_DETACH)
	if mounts, _ := MountsUnder(e.dir); len(mounts) > 0 {
		e.t.Errorf("mounts left: %v", mounts)
		return
	}
	if !e.t.Failed() {
		_ = os.RemoveAll(e.dir)
	}
}

// assertGone checks that nothing of id is left: no process, no mount, no
// runsc state, no file, no cgroup.
func (e *env) assertGone(id string) {
	e.t.Helper()
	if procs := processesMentioning(id); len(procs) > 0 {
		e.t.Errorf("processes of %s left: %v", id, procs)
	}
	mounts, err := MountsUnder(e.dir)
	if err != nil {
		e.t.Error(err)
	}
	for _, mnt := range mounts {
		// runsc's shared empty network namespace (--network=none) belongs
		// to its root, not to a container; the env's cleanup unmounts it.
		if mnt != filepath.Join(e.m.runsc.Root, "null-netns") {
			e.t.Errorf("mount left under %s: %s", e.dir, mnt)
		}
	}
	if ids, err := e.m.runsc.ListIDs(context.Background()); err != nil {
		e.t.Errorf("runsc list: %v", err)
	} else if slices.Contains(ids, id) {
		e.t.Errorf("runsc state of %s left", id)
	}
	p := e.m.Paths(id)
	for _, path := range []string{p.Container, p.Bundle, p.OldBundle, p.Supervisor, p.Secrets} {
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			e.t.Errorf("%s left behind (%v)", path, err)
		}
	}
	if cg, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgroupParent + "/" + id); len(cg) > 0 {
		e.t.Errorf("cgroups left: %v", cg)
	}
	if err := e.m.Delete(context.Background(), id, DeleteOptions{}); err != nil {
		e.t.Errorf("second delete of %s: %v", id, err)
	}
}

// processesMentioning lists live processes whose command line or working
// directory contains s.
func processesMentioning(s string) []string {
	var out []string
	self := fmt.Sprint(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if filepath.Base(d) == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		// A supervisor's command line need not name its container; its
		// working directory does.
		cwd, _ := os.Readlink(filepath.Join(d, "cwd"))
		if !bytes.Contains(cmdline, []byte(s)) && !strings.Contains(cwd, s) {
			continue
		}
		out = append(out, filepath.Base(d)+": "+strings.ReplaceAll(string(cmdline), "\x00", " ")+" (cwd "+cwd+")")
	}
	return out
}

// spawnerMain is a throwaway "daemon": it creates and starts a container
// through a Manager, prints "ready <supervisor pid>" and sleeps until
// killed. args: root state runsc self id.
func spawnerMain(args []string) int {
	if len(args) != 5 {
		fmt.Fprintln(os.Stderr, "spawner: want root state runsc self id")
		return 2
	}
	m, err := New(Config{
		RootDir: args[0], StateDir: args[1], Runsc: runsc.Runsc{Binary: args[2]},
		SupervisorCommand: []string{args[3]}, SupervisorEnv: []string{supervisorEnv + "=1"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := m.Create(context.Background(), args[4], CreateOptions{Start: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ready %d\n", st.SupervisorPid)
	select {}
}

// startSpawner runs spawnerMain as a child and returns it once the
// container runs.
func (e *env) startSpawner(id string) (*exec.Cmd, int) {
	e.t.Helper()
	cmd := exec.Command(e.self, e.cfg.RootDir, e.cfg.StateDir, e.cfg.Runsc.Binary, e.self, id)
	cmd.Env = append(os.Environ(), spawnerEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		e.t.Fatalf("spawner: %v", err)
	}
	var pid int
	if _, err := fmt.Sscanf(line, "ready %d", &pid); err != nil {
		e.t.Fatalf("spawner said %q", line)
	}
	return cmd, pid
}

func isKind(err, kind error) bool { return errors.Is(err, kind) && errdefs.Kind(err) == kind }
