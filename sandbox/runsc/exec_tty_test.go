package runsc

import (
	"context"
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestExecWithTerminalNeedsInProcessExec(t *testing.T) {
	f := newFake(t)
	p := &specs.Process{Args: []string{"/bin/sh"}}
	_, err := f.r.ExecProcess(context.Background(), testID, p, ExecOptions{Terminal: &Terminal{}})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("a tty exec through runsc processes: %v, want FailedPrecondition", err)
	}
}
