package sandbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/sandbox/internal/testbundle"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// The daemon that spawned the supervisor is killed -9 while the container
// runs: the container keeps running and logging, a new daemon finds it, the
// container exits while no daemon watches, and its exact exit code is
// reported afterwards.
func TestE2EDaemonKilledContainerSurvives(t *testing.T) {
	e := newEnv(t)
	const lines = 30
	id := e.bundle(testbundle.Options{Args: []string{"/bin/sh", "-c",
		fmt.Sprintf("i=0; while [ $i -lt %d ]; do echo line $i; i=$((i+1)); sleep 0.1; done; exit 42", lines)}})
	daemon, supPid := e.startSpawner(id)
	if err := daemon.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = daemon.Wait()
	killedAt := time.Now()

	// A restarted daemon: a fresh Manager over the same directories.
	m2 := e.manager()
	st, err := m2.Status(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != specs.StateRunning || st.SupervisorPid != supPid {
		t.Fatalf("after the daemon died: %+v (supervisor pid %d)", st, supPid)
	}
	recovered := m2.Recover(context.Background(), nil)
	if len(recovered) != 1 || recovered[0].ID != id {
		t.Fatalf("Recover = %+v", recovered)
	}
	m2 = nil

	// Nobody waits: the container exits with no daemon watching.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, alive := supervisor.Running(e.m.Paths(id).Supervisor); !alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("supervisor still running after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("container ran on for %v after its daemon was killed", time.Since(killedAt))

	m3 := e.manager()
	ex, err := m3.Wait(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ex.ExitCode != 42 || ex.Reason != supervisor.ReasonExited {
		t.Fatalf("exit status %+v, want 42", ex)
	}
	var want strings.Builder
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if got := string(e.logs(id)["stdout"]); got != want.String() {
		t.Fatalf("stdout:\n%s\nwant:\n%s", got, want.String())
	}
}

// A restarted daemon can stop and exec into a container it did not start.
func TestE2EReattachStopAndExec(t *testing.T) {
	e := newEnv(t)
	id := e.bundle(testbundle.Options{Args: []string{"/bin/sh", "-c", "sleep 60"}})
	daemon, _ := e.startSpawner(id)
	_ = daemon.Process.Kill()
	_ = daemon.Wait()

	m := e.manager()
	var out strings.Builder
	code, err := m.Exec(context.Background(), id, ExecSpec{Args: []string{"echo", "still here"}}, nil, &out, nil)
	if err != nil || code != 0 || out.String() != "still here\n" {
		t.Fatalf("exec after restart: %d %v %q", code, err, out.String())
	}
	ex, err := m.Stop(context.Background(), id, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Reason != supervisor.ReasonKilled || ex.ExitCode != 143 || ex.Signal != 15 {
		t.Fatalf("stop after restart: %+v", ex)
	}
}
