package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/containerlog"
	"nucleus.dev/nucleus/sandbox/runsc"
)

func TestMain(m *testing.M) {
	if os.Getenv("NUCLEUS_SUPERVISOR_TEST") == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const testID = "00112233445566778899aabbccddeeff"

// fakeWorld spawns supervisors over testdata/fake-runsc.
type fakeWorld struct {
	t    *testing.T
	dir  string // fake runsc's behaviour directory
	spec Spec
	opts SpawnOptions
}

func newFakeWorld(t *testing.T, script string) *fakeWorld {
	t.Helper()
	bin, err := filepath.Abs("testdata/fake-runsc")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("/tmp", "st")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	w := &fakeWorld{t: t, dir: filepath.Join(base, "fake")}
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "script"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	w.spec = Spec{
		ID: testID, Bundle: filepath.Join(base, "bundle"),
		Runsc:   runsc.Runsc{Binary: bin, Root: filepath.Join(base, "runsc")},
		Dir:     filepath.Join(base, "sup"),
		LogPath: filepath.Join(base, "container.log"), ExitPath: filepath.Join(base, "exit.json"),
	}
	w.opts = SpawnOptions{Command: []string{self}, Env: []string{"NUCLEUS_SUPERVISOR_TEST=1", "FAKE_RUNSC_DIR=" + w.dir}}
	t.Cleanup(func() {
		if pid, ok := Running(w.spec.Dir); ok {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if data, err := os.ReadFile(filepath.Join(w.dir, "sandbox.pid")); err == nil {
			var pid int
			for _, c := range strings.TrimSpace(string(data)) {
				pid = pid*10 + int(c-'0')
			}
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	})
	return w
}

func (w *fakeWorld) spawn() Status {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := Spawn(ctx, w.spec, w.opts)
	if err != nil {
		w.t.Fatalf("Spawn: %v", err)
	}
	return st
}

func (w *fakeWorld) waitGone() {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := Running(w.spec.Dir); !ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatal("supervisor did not exit")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCreateStartWaitRecord(t *testing.T) {
	// The sleep keeps it alive until Wait is asked (a supervisor that has
	// exited is read through exit.json, tested below).
	w := newFakeWorld(t, "echo out; echo err >&2; printf partial; sleep 0.5; exit 3")
	st := w.spawn()
	if st.State != specs.StateCreated || st.SandboxPid <= 0 || st.SupervisorPid <= 0 {
		t.Fatalf("after create: %+v", st)
	}
	c := NewClient(w.spec.Dir)
	ctx := context.Background()
	if st, err := c.Status(ctx); err != nil || st.State != specs.StateCreated {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := c.Stdin(ctx, false); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("stdin without open stdin: %v", err)
	}
	if _, err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait(ctx)
	if err != nil || st.Exit == nil || st.Exit.ExitCode != 3 || st.Exit.Reason != ReasonExited {
		t.Fatalf("wait: %+v %v", st, err)
	}
	w.waitGone()
	ex, err := ReadExit(w.spec.ExitPath)
	if err != nil || ex != *st.Exit {
		t.Fatalf("exit.json %+v %v; wait said %+v", ex, err, st.Exit)
	}
	for _, f := range []string{PidFile, SocketFile, SandboxPid} {
		if _, err := os.Stat(filepath.Join(w.spec.Dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after exit", f)
		}
	}
	var entries []string
	err = containerlog.Read(ctx, w.spec.LogPath, containerlog.ReadOptions{Tail: -1}, func(e containerlog.Entry) error {
		tag := "F"
		if e.Partial {
			tag = "P"
		}
		entries = append(entries, e.Stream+" "+tag+" "+string(e.Content))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(entries, "|")
	if !strings.Contains(got, "stdout F out") || !strings.Contains(got, "stderr F err") || !strings.Contains(got, "stdout P partial") {
		t.Fatalf("log entries %q", got)
	}
	if _, err := c.Status(ctx); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("status of a gone supervisor: %v", err)
	}
}

func TestCreateFailureIsRecorded(t *testing.T) {
	w := newFakeWorld(t, "exit 0")
	if err := os.WriteFile(filepath.Join(w.dir, "create.fail"), []byte("cannot read spec: boom"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Spawn(context.Background(), w.spec, w.opts)
	if err == nil || !strings.Contains(err.Error(), "cannot read spec: boom") {
		t.Fatalf("Spawn = %v; want runsc's message", err)
	}
	w.waitGone()
	ex, err := ReadExit(w.spec.ExitPath)
	if err != nil || ex.Reason != ReasonError || ex.ExitCode != -1 || !strings.Contains(ex.Message, "boom") {
		t.Fatalf("exit.json %+v %v", ex, err)
	}
}

func TestTimeoutWithAutoStart(t *testing.T) {
	w := newFakeWorld(t, "sleep 60")
	w.spec.Timeout = 300 * time.Millisecond
	w.spec.Start = true
	if st := w.spawn(); st.State != specs.StateRunning {
		t.Fatalf("with Start: %+v", st)
	}
	c := NewClient(w.spec.Dir)
	st, err := c.Wait(context.Background())
	if err != nil || st.Exit.Reason != ReasonTimeout || st.Exit.ExitCode != 137 || st.Exit.Signal != 9 {
		t.Fatalf("wait: %+v %v", st.Exit, err)
	}
	if ran := st.Exit.FinishedAt.Sub(st.Exit.StartedAt); ran < 300*time.Millisecond || ran > 1300*time.Millisecond {
		t.Fatalf("ran %v", ran)
	}
}

func TestStopCreatedContainer(t *testing.T) {
	w := newFakeWorld(t, "exit 0")
	w.spawn()
	st, err := NewClient(w.spec.Dir).Stop(context.Background(), 0, time.Second)
	if err != nil || st.Exit == nil || st.Exit.Reason != ReasonKilled || st.Exit.ExitCode != 137 {
		t.Fatalf("stop of a created container: %+v %v", st, err)
	}
}

func TestSpecValidation(t *testing.T) {
	good := Spec{ID: testID, Bundle: "/b", Dir: "/s", LogPath: "/l", ExitPath: "/e", Runsc: runsc.Runsc{Binary: "/r", Root: "/root"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	member := good
	member.Pod = strings.Repeat("f", 32)
	if err := member.Validate(); err != nil {
		t.Fatalf("a pod's member: %v", err)
	}
	for name, mutate := range map[string]func(*Spec){
		"short id":       func(s *Spec) { s.ID = "abc" },
		"upper id":       func(s *Spec) { s.ID = strings.ToUpper(testID) },
		"relative dir":   func(s *Spec) { s.Dir = "s" },
		"long socket":    func(s *Spec) { s.Dir = "/" + strings.Repeat("x", 100) },
		"negative time":  func(s *Spec) { s.Timeout = -1 },
		"relative image": func(s *Spec) { s.Restore = &runsc.RestoreOptions{ImagePath: "img"} },
		"pod not an id":  func(s *Spec) { s.Pod = "../x" },
		"its own pod":    func(s *Spec) { s.Pod = s.ID },
		"restored member": func(s *Spec) {
			s.Pod, s.Restore = strings.Repeat("f", 32), &runsc.RestoreOptions{ImagePath: "/img"}
		},
	} {
		s := good
		mutate(&s)
		if err := s.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}
