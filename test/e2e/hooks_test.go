package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// hookFixture makes a root-owned trusted directory with one recording hook per
// phase (and a failing createRuntime hook) and returns the config that
// declares them as sets "rec" and "fail".
func hookFixture(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "nucleus-hooks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	record := "#!/bin/sh\n{ printf '%s ' \"$1\"; cat; echo; } >> " + filepath.Join(dir, "calls.log") + "\n"
	for name, body := range map[string]string{"record": record, "fail": "#!/bin/sh\necho 'quota service says no' >&2\nexit 3\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hook := func(phase string) string {
		return fmt.Sprintf(`[{ path = %q, args = ["record", %q], timeout = "10s" }]`, filepath.Join(dir, "record"), phase)
	}
	cfg = fmt.Sprintf(`[hooks]
trusted_dirs = [%q]
[hooks.sets.rec]
create_runtime = %s
poststart = %s
poststop = %s
[hooks.sets.fail]
create_runtime = [{ path = %q, args = ["fail"] }]
poststop = %s
`, dir, hook("createRuntime"), hook("poststart"), hook("poststop"), filepath.Join(dir, "fail"), hook("poststop"))
	return dir, cfg
}

type hookCall struct {
	Phase string
	State specs.State
}

func hookCalls(t *testing.T, dir string) []hookCall {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var calls []hookCall
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		phase, state, _ := strings.Cut(line, " ")
		var c hookCall
		c.Phase = phase
		if err := json.Unmarshal([]byte(state), &c.State); err != nil {
			t.Fatalf("hook stdin %q: %v", state, err)
		}
		calls = append(calls, c)
	}
	return calls
}

// TestE2EHooksPhasesInOrder: createRuntime, poststart and poststop run in
// order with the right status and the sandbox's pid.
func TestE2EHooksPhasesInOrder(t *testing.T) {
	dir, cfg := hookFixture(t)
	d := StartDaemon(t, DaemonOptions{Config: cfg})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	spec := sh("sleep 0.3; exit 5")
	spec.HookSet = "rec"
	spec.Annotations = map[string]string{"com.example.team": "a"}
	ct, err := c.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, ct.GetId()); err != nil {
		t.Fatal(err)
	}
	if w, err := c.Wait(ctx, ct.GetId()); err != nil || w.GetExit().GetExitCode() != 5 {
		t.Fatalf("wait: %v %v", w, err)
	}
	var calls []hookCall
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if calls = hookCalls(t, dir); len(calls) == 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := []struct {
		phase  string
		status specs.ContainerState
	}{{"createRuntime", specs.StateCreated}, {"poststart", specs.StateRunning}, {"poststop", specs.StateStopped}}
	if len(calls) != len(want) {
		t.Fatalf("hook calls = %+v, want %d", calls, len(want))
	}
	for i, w := range want {
		got := calls[i]
		if got.Phase != w.phase || got.State.Status != w.status || got.State.ID != ct.GetId() {
			t.Errorf("call %d = %s %+v, want %s with status %s", i, got.Phase, got.State, w.phase, w.status)
		}
		if got.State.Bundle != ct.GetBundle() || got.State.Annotations["com.example.team"] != "a" {
			t.Errorf("call %d state bundle %q annotations %v", i, got.State.Bundle, got.State.Annotations)
		}
	}
	if calls[0].State.Pid <= 0 || calls[0].State.Pid != int(ct.GetPid()) {
		t.Errorf("createRuntime pid = %d, want the sandbox pid %d", calls[0].State.Pid, ct.GetPid())
	}
	if _, err := c.Delete(ctx, ct.GetId(), false); err != nil {
		t.Fatal(err)
	}
	if n := len(hookCalls(t, dir)); n != 3 {
		t.Errorf("poststop ran again on delete: %d calls", n)
	}
}

// TestE2EHooksFailingCreateRuntimeLeavesNothing: the create fails with the
// hook's output, and no record, bundle, runsc state, supervisor or mount
// is left.
func TestE2EHooksFailingCreateRuntimeLeavesNothing(t *testing.T) {
	_, cfg := hookFixture(t)
	d := StartDaemon(t, DaemonOptions{Config: cfg})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	spec := sh("sleep 30")
	spec.HookSet = "fail"
	spec.Name = "doomed"
	spec.Secrets = nil
	_, err := c.Create(ctx, spec)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "quota service says no") {
		t.Fatalf("create = %v, want FailedPrecondition carrying the hook's stderr", err)
	}
	if _, err := c.Get(ctx, "doomed"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("record after failed create: %v", err)
	}
	for _, l := range d.Leftovers() {
		t.Errorf("left behind by the failed create: %s", l)
	}
	// The name is free again.
	spec.HookSet = ""
	if _, err := c.Create(ctx, spec); err != nil {
		t.Fatalf("create after the failed one: %v", err)
	}
}
