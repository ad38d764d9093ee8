package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestSpawnerUsesItsSpare: the second create is served by the supervisor
// started after the first (a spare, already past its exec); the spare takes
// the command line of a --spec supervisor and is recognised by Running;
// Close ends an unused spare and leaves the containers' supervisors alone.
func TestSpawnerUsesItsSpare(t *testing.T) {
	w := newFakeWorld(t, "exit 0")
	s := NewSpawner(w.opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := s.Spawn(ctx, w.spec)
	if err != nil {
		t.Fatal(err)
	}
	sp := s.currentSpare()
	if sp == nil {
		t.Fatal("no spare after the first spawn")
	}
	if args := cmdline(t, sp.cmd.Process.Pid); bytes.Contains(args, []byte(specFlag+"\x00")) {
		t.Fatalf("the spare already names a spec: %q", args)
	}

	second := w.spec
	second.ID = "ffeeddccbbaa99887766554433221100"
	second.Dir = filepath.Join(filepath.Dir(w.spec.Dir), "sup2")
	second.LogPath += ".2"
	second.ExitPath += ".2"
	st, err := s.Spawn(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if st.SupervisorPid != sp.cmd.Process.Pid || st.State != specs.StateCreated {
		t.Fatalf("second create: %+v; the spare was pid %d", st, sp.cmd.Process.Pid)
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", st.SupervisorPid)); err != nil || cwd != second.Dir {
		t.Errorf("the spare's working directory after its spec: %q (%v), want %s", cwd, err, second.Dir)
	}
	if pid, ok := Running(second.Dir); !ok || pid != st.SupervisorPid {
		t.Errorf("Running(%s) = %d, %v; want %d", second.Dir, pid, ok, st.SupervisorPid)
	}
	if pid, ok := Running(w.spec.Dir); !ok || pid != first.SupervisorPid {
		t.Errorf("Running(first) = %d, %v; want %d", pid, ok, first.SupervisorPid)
	}

	third := s.currentSpare()
	if third == nil {
		t.Fatal("no new spare after the second spawn")
	}
	s.Close()
	if !exits(third.cmd.Process.Pid, 5*time.Second) {
		t.Error("the unused spare did not exit after Close")
	}
	for _, pid := range []int{first.SupervisorPid, st.SupervisorPid} {
		if unix.Kill(pid, 0) != nil {
			t.Errorf("supervisor %d ended with the spawner", pid)
		}
	}
	// Both containers (the fake sandboxes share one "started" flag) run
	// "exit 0" and their supervisors end.
	if _, err := NewClient(w.spec.Dir).Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sp := range []Spec{w.spec, second} {
		// A supervisor that already exited is read through exit.json.
		if st, err := NewClient(sp.Dir).Wait(ctx); err == nil {
			if st.Exit == nil || st.Exit.ExitCode != 0 {
				t.Errorf("wait %s: %+v", sp.Dir, st)
			}
			continue
		}
		w := fakeWorld{t: t, spec: sp}
		w.waitGone()
		if ex, err := ReadExit(sp.ExitPath); err != nil || ex.ExitCode != 0 {
			t.Errorf("exit of %s: %+v %v", sp.Dir, ex, err)
		}
	}
	if _, err := s.Spawn(ctx, third2(w)); err != nil {
		t.Fatalf("spawn after Close: %v", err)
	}
	if s.currentSpare() != nil {
		t.Error("a closed spawner started a spare")
	}
	waitExited(t, ctx, third2(w))
}

// waitExited starts the container of spec if it is not yet, and waits for
// its supervisor to record the exit and end, so that nothing writes into
// the test's directory after its cleanup.
func waitExited(t *testing.T, ctx context.Context, spec Spec) {
	t.Helper()
	_, _ = NewClient(spec.Dir).Start(ctx)
	(&fakeWorld{t: t, spec: spec}).waitGone()
	if _, err := ReadExit(spec.ExitPath); err != nil {
		t.Errorf("exit of %s: %v", spec.Dir, err)
	}
}

// third2 is a third container's spec in w.
func third2(w *fakeWorld) Spec {
	s := w.spec
	s.ID = "0123456789abcdef0123456789abcdef"
	s.Dir = filepath.Join(filepath.Dir(w.spec.Dir), "sup3")
	s.LogPath += ".3"
	s.ExitPath += ".3"
	return s
}

func cmdline(t *testing.T, pid int) []byte {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exits waits up to d for pid to be gone (or a zombie: the spawner's
// goroutine reaps it).
func exits(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if gone(pid) || zombie(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// TestSpawnerParent: with Parent set, a spec whose directory is elsewhere
// is refused before any process starts, and the supervisor checks it too.
func TestSpawnerParent(t *testing.T) {
	w := newFakeWorld(t, "exit 0")
	opts := w.opts
	opts.Parent = filepath.Join(filepath.Dir(w.spec.Dir), "elsewhere")
	s := NewSpawner(opts)
	defer s.Close()
	_, err := s.Spawn(context.Background(), w.spec)
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("Spawn outside Parent = %v, want InvalidArgument", err)
	}
	if s.currentSpare() != nil {
		t.Fatal("a refused spawn started a spare")
	}
	// The supervisor's own check: a spare told another parent refuses.
	sp, err := (&Spawner{opts: SpawnOptions{Command: opts.Command, Env: opts.Env, Parent: "/nowhere"}}).start(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(w.spec.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(w.spec)
	if err := os.WriteFile(w.spec.path(SpecFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !sp.hand(w.spec.path(SpecFile)) {
		t.Fatal("the spare was gone")
	}
	if _, err := sp.await(context.Background(), w.spec); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "--parent") {
		t.Fatalf("a supervisor given a spec outside --parent: %v", err)
	}
}

// TestSpawnerRefillDelay: with RefillDelay the next spare starts that long
// after a create, not at once, and Close cancels a refill still pending.
func TestSpawnerRefillDelay(t *testing.T) {
	w := newFakeWorld(t, "exit 0")
	opts := w.opts
	opts.RefillDelay = 400 * time.Millisecond
	s := NewSpawner(opts)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Spawn(ctx, w.spec); err != nil {
		t.Fatal(err)
	}
	spawned := time.Now()
	if sp := s.currentSpare(); sp != nil {
		t.Fatalf("a spare (pid %d) started at once despite RefillDelay", sp.cmd.Process.Pid)
	}
	var sp *spare
	for sp == nil {
		if time.Since(spawned) > 10*time.Second {
			t.Fatal("no spare 10 s after a create")
		}
		time.Sleep(10 * time.Millisecond)
		sp = s.currentSpare()
	}
	if waited := time.Since(spawned); waited < opts.RefillDelay-50*time.Millisecond {
		t.Errorf("the spare started %v after the create, before RefillDelay (%v)", waited, opts.RefillDelay)
	}

	// A create served by that spare schedules the next refill; Close
	// before it fires leaves no spare and starts none later.
	if _, err := s.Spawn(ctx, third2(w)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	time.Sleep(opts.RefillDelay + 200*time.Millisecond)
	if sp := s.currentSpare(); sp != nil {
		t.Errorf("a closed spawner started a spare (pid %d) when its pending refill was due", sp.cmd.Process.Pid)
	}
	for _, sp := range []Spec{w.spec, third2(w)} {
		waitExited(t, ctx, sp)
	}
}

// currentSpare is the newest free supervisor, read under the spawner's
// lock.
func (s *Spawner) currentSpare() *spare {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) == 0 {
		return nil
	}
	return s.idle[len(s.idle)-1]
}
