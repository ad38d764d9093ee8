package sandbox

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/sandbox/internal/testbundle"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

func TestE2EExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		kill         bool
		code, signal int
		reason       string
	}{
		{name: "0", script: "exit 0", code: 0, reason: supervisor.ReasonExited},
		{name: "1", script: "echo bye >&2; exit 1", code: 1, reason: supervisor.ReasonExited},
		{name: "137-self", script: "kill -9 $$", code: 137, reason: supervisor.ReasonExited},
		{name: "137-kill", script: "sleep 60", kill: true, code: 137, signal: 9, reason: supervisor.ReasonKilled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			id, st, took := e.run(tc.script, CreateOptions{}, testbundle.Options{})
			t.Logf("create+start: %v (sandbox pid %d, supervisor pid %d)", took, st.SandboxPid, st.SupervisorPid)
			if tc.kill {
				if err := e.m.Kill(context.Background(), id, unix.SIGKILL, false); err != nil {
					t.Fatal(err)
				}
			}
			ex := e.wait(id, 30*time.Second)
			if ex.ExitCode != tc.code || ex.Signal != tc.signal || ex.Reason != tc.reason || ex.OOMKilled {
				t.Fatalf("exit status %+v; want code %d signal %d reason %s", ex, tc.code, tc.signal, tc.reason)
			}
			if ex.FinishedAt.Before(ex.StartedAt) || ex.StartedAt.IsZero() {
				t.Errorf("times: started %v finished %v", ex.StartedAt, ex.FinishedAt)
			}
			// Asking again, and from a "restarted daemon", gives the same.
			again, err := e.manager().Wait(context.Background(), id)
			if err != nil || again != ex {
				t.Fatalf("second wait: %+v, %v; first %+v", again, err, ex)
			}
			if tc.name == "1" {
				if got := string(e.logs(id)["stderr"]); got != "bye\n" {
					t.Errorf("stderr %q", got)
				}
			}
		})
	}
}
