package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// hookFixture makes a root-owned trusted directory with one recording hook per
// phase (and a failing createRuntime hook) and returns the config that
// declares them as sets "rec" and "fail".
func hookFixture(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = testutil.HookDir(t) // root-owned 0755 under /run: /tmp is world-writable, so refused
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

// TestE2EHooksGroupWritableRefused: the attack of issue 14 — a hook
// root:nogroup 0775, which any member of the socket group could rewrite —
// keeps nucleusd from starting and fails `nucleusd config check`, both
// naming the rule; and a hook made group-writable while the daemon runs is
// refused at the next run, not executed as root.
func TestE2EHooksGroupWritableRefused(t *testing.T) {
	dir, cfg := hookFixture(t)
	record := filepath.Join(dir, "record")
	if err := os.Chown(record, 0, nogroup); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(record, 0o775); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("file %s is group-writable (mode 0775, gid %d)", record, nogroup)
	d := NewDaemon(t, DaemonOptions{Config: "[api]\nsocket_group = \"nogroup\"\n" + cfg})

	check := exec.Command(d.Bin, "--config", d.ConfigPath, "config", "check")
	out, err := check.CombinedOutput()
	if code := check.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), want) {
		t.Fatalf("config check: exit %d (%v), output %q; want 1 and %q", code, err, out, want)
	}
	start := exec.Command(d.Bin, "--config", d.ConfigPath, "--root", d.Root, "--state", d.State)
	out, err = start.CombinedOutput()
	if code := start.ProcessState.ExitCode(); code == 0 || !strings.Contains(string(out), want) {
		t.Fatalf("nucleusd start: exit %d (%v), output %q; want a failure naming %q", code, err, out, want)
	}

	// Sound again, the daemon starts; then a group member's write access
	// is restored behind its back.
	if err := os.Chmod(record, 0o755); err != nil {
		t.Fatal(err)
	}
	d.Start()
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	if err := os.Chmod(record, 0o775); err != nil {
		t.Fatal(err)
	}
	spec := sh("true")
	spec.HookSet = "rec"
	if _, err := c.Create(ctx, spec); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), want) {
		t.Fatalf("create with the group-writable hook: %v, want FailedPrecondition naming %q", err, want)
	}
	if calls := hookCalls(t, dir); len(calls) != 0 {
		t.Fatalf("the refused hook ran: %+v", calls)
	}
}
