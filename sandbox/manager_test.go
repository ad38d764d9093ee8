package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// newOfflineManager has no supervisors and a runsc that knows no container.
func newOfflineManager(t *testing.T) *Manager {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "runsc")
	script := "#!/bin/sh\necho 'loading container: file does not exist' >&2\nexit 128\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{
		RootDir: filepath.Join(dir, "root"), StateDir: filepath.Join(dir, "state"),
		Runsc: runsc.Runsc{Binary: bin}, SupervisorCommand: []string{"/nonexistent"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStatusWithoutSupervisor(t *testing.T) {
	m := newOfflineManager(t)
	ctx := context.Background()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status(ctx, id); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("unknown container: %v", err)
	}
	if _, err := m.Status(ctx, "c1"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("bad id: %v", err)
	}

	// exit.json recorded by a supervisor that has since exited.
	p := m.Paths(id)
	if err := os.MkdirAll(p.Container, 0o700); err != nil {
		t.Fatal(err)
	}
	want := supervisor.ExitStatus{ExitCode: 42, Reason: supervisor.ReasonExited}
	if err := supervisor.WriteExit(p.Exit, want); err != nil {
		t.Fatal(err)
	}
	st, err := m.Status(ctx, id)
	if err != nil || st.State != specs.StateStopped || st.Exit == nil || st.Exit.ExitCode != 42 {
		t.Fatalf("status from exit.json: %+v %v", st, err)
	}
	if ex, err := m.Wait(ctx, id); err != nil || ex.ExitCode != 42 {
		t.Fatalf("wait from exit.json: %+v %v", ex, err)
	}
	if ex, err := m.Stop(ctx, id, 0); err != nil || ex.ExitCode != 42 {
		t.Fatalf("stop of a stopped container: %+v %v", ex, err)
	}

	// No supervisor, no exit.json, no runsc state: lost, and recorded so.
	os.Remove(p.Exit)
	st, err = m.Status(ctx, id)
	if err != nil || st.Exit == nil || st.Exit.Reason != supervisor.ReasonLost || st.Exit.ExitCode != -1 {
		t.Fatalf("lost status: %+v %v", st, err)
	}
	if ex, err := supervisor.ReadExit(p.Exit); err != nil || ex.Reason != supervisor.ReasonLost {
		t.Fatalf("lost status not recorded: %+v %v", ex, err)
	}
	if got := m.Recover(ctx, nil); len(got) != 1 || got[0].ID != id {
		t.Fatalf("Recover = %+v", got)
	}
	// A skipped id is not looked at: no status asked, so nothing written
	// (a recovering daemon may be deleting it at the same time).
	os.Remove(p.Exit)
	if got := m.Recover(ctx, map[string]bool{id: true}); len(got) != 0 {
		t.Fatalf("Recover skipping %s = %+v", id, got)
	}
	if _, err := os.Stat(p.Exit); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Recover wrote %s for a skipped id: %v", p.Exit, err)
	}
	if err := m.Delete(ctx, id, DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Container); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("container dir left: %v", err)
	}
	if err := m.Delete(ctx, id, DeleteOptions{}); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestExecProcessInheritsContainer(t *testing.T) {
	m := newOfflineManager(t)
	id, _ := NewID()
	p := m.Paths(id)
	if err := os.MkdirAll(p.Bundle, 0o700); err != nil {
		t.Fatal(err)
	}
	base := `{"ociVersion":"1.2.1","process":{"args":["sleep"],"env":["PATH=/bin","A=1"],"cwd":"/w","user":{"uid":5,"gid":5},"noNewPrivileges":true,"terminal":true}}`
	if err := os.WriteFile(filepath.Join(p.Bundle, "config.json"), []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	proc, err := m.execProcess(id, ExecSpec{Args: []string{"id"}, Env: []string{"A=2", "B=3"}})
	if err != nil {
		t.Fatal(err)
	}
	if proc.Terminal || !proc.NoNewPrivileges || proc.Cwd != "/w" || proc.User.UID != 5 ||
		len(proc.Env) != 3 || proc.Env[1] != "A=2" || proc.Env[2] != "B=3" || proc.Args[0] != "id" {
		t.Fatalf("exec process %+v", proc)
	}
	for _, bad := range []ExecSpec{{}, {Args: []string{"x"}, Cwd: "rel"}, {Args: []string{"x"}, Cwd: "/proc/self/fd/3"}, {Args: []string{"x"}, Env: []string{"NOEQ"}}} {
		if _, err := m.execProcess(id, bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("execProcess(%+v) = %v", bad, err)
		}
	}
}

// TestRecoverFindsAnOrphanBundle: a bundle left in the state directory with
// nothing else of its container (a create cut short before its container
// directory was made) is found by Recover and removed by Delete.
func TestRecoverFindsAnOrphanBundle(t *testing.T) {
	m := newOfflineManager(t)
	ctx := context.Background()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	p := m.Paths(id)
	if err := os.MkdirAll(filepath.Join(p.Bundle, "rootfs"), 0o700); err != nil {
		t.Fatal(err)
	}
	got := m.Recover(ctx, nil)
	if len(got) != 1 || got[0].ID != id || got[0].State != specs.StateStopped {
		t.Fatalf("Recover = %+v, want %s stopped", got, id)
	}
	if err := m.Delete(ctx, id, DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p.Bundle, p.Container, p.Supervisor} {
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: %v", path, err)
		}
	}
}
