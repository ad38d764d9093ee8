package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/sandbox/runsc"
)

// In restore mode the supervisor creates the container without starting
// it, then runs `runsc restore --detach` in place of start, and supervises
// the sandbox as any other: its timeout counts from the restore and its
// exit is recorded.
func TestRestoreModeReplacesStart(t *testing.T) {
	w := newFakeWorld(t, "sleep 60")
	w.spec.Start = true
	w.spec.Timeout = 300 * time.Millisecond
	w.spec.Restore = &runsc.RestoreOptions{ImagePath: "/snapshots/img", Background: true}
	if st := w.spawn(); st.State != specs.StateRunning {
		t.Fatalf("restored: %+v", st)
	}
	st, err := NewClient(w.spec.Dir).Wait(context.Background())
	if err != nil || st.Exit.Reason != ReasonTimeout {
		t.Fatalf("wait: %+v %v", st.Exit, err)
	}
	data, err := os.ReadFile(filepath.Join(w.dir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	calls := string(data)
	if strings.Contains(calls, "\nstart ") || strings.HasPrefix(calls, "start ") || strings.Contains(calls, "run ") {
		t.Fatalf("restore mode ran start or run:\n%s", calls)
	}
	if !strings.Contains(calls, "create ") || !strings.Contains(calls, "restore --image-path=/snapshots/img --detach --background "+testID) {
		t.Fatalf("calls:\n%s", calls)
	}
}
