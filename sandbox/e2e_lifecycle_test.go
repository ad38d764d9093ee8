package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

// TestE2ECreateWithoutRunscProcess checks that, runsc being built from the
// gVisor version linked in, the supervisor creates and starts the sandbox
// itself: runsc's debug log (one file per runsc command) names the sandbox
// ("boot") and the gofer, and no create, run or start command. A runsc
// the supervisor cannot vouch for (a wrapper script) gets runsc processes,
// and works the same.
func TestE2ECreateWithoutRunscProcess(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wrapped bool
	}{{"linked", false}, {"wrapped", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Runsc.DebugLogDir = filepath.Join(e.dir, "runsc-debug")
			if tc.wrapped {
				wrapper := filepath.Join(e.dir, "runsc-wrapper")
				script := "#!/bin/sh\nexec " + e.cfg.Runsc.Binary + " \"$@\"\n"
				if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
				e.cfg.Runsc.Binary = wrapper
			}
			e.m = e.manager()
			id, _, took := e.run("echo hi; exit 3", CreateOptions{}, testbundle.Options{})
			if ex := e.wait(id, 30*time.Second); ex.ExitCode != 3 {
				t.Fatalf("exit status %+v, want code 3", ex)
			}
			if got := string(e.logs(id)["stdout"]); got != "hi\n" {
				t.Errorf("stdout %q", got)
			}
			commands := map[string]int{}
			files, err := os.ReadDir(e.cfg.Runsc.DebugLogDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				// runsc.log.<timestamp>.<command>.txt
				parts := strings.Split(strings.TrimSuffix(f.Name(), ".txt"), ".")
				commands[parts[len(parts)-1]]++
			}
			t.Logf("create+start %v; runsc commands: %v", took, commands)
			if commands["boot"] != 1 || commands["gofer"] != 1 {
				t.Errorf("runsc commands %v: want one boot and one gofer", commands)
			}
			runscProcesses := commands["create"] + commands["run"] + commands["start"]
			if !tc.wrapped && runscProcesses != 0 {
				t.Errorf("runsc commands %v: the supervisor ran runsc to create or start", commands)
			}
			if tc.wrapped && commands["run"] != 1 {
				t.Errorf("runsc commands %v: want one `runsc run --detach` through the wrapper", commands)
			}
		})
	}
}
