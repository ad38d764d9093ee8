package runsc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Error is a failed runsc command. It carries runsc's own message; test its
// kind with errors.Is(err, errdefs.ErrNotFound) and so on.
type Error struct {
	// Verb is the runsc subcommand ("create", "kill", ...).
	Verb string
	// ID is the container, empty for commands without one.
	ID string
	// ExitCode is runsc's exit code, -1 when it did not exit normally.
	ExitCode int
	// Stderr is runsc's message (the tail of its stderr, or the error
	// lines of --log-fd when stdio belonged to the workload).
	Stderr string
	// Err is the underlying failure (exec error, context error), if any.
	Err error

	kind error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("runsc " + e.Verb)
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	switch {
	case e.Stderr != "":
		b.WriteString(": " + e.Stderr)
	case e.Err != nil:
		b.WriteString(": " + e.Err.Error())
	}
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, " (exit status %d)", e.ExitCode)
	}
	return b.String()
}

// Unwrap returns the errdefs kind and the underlying error.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// newError builds the Error for a failed run of inv.
func (r *Runsc) newError(ctx context.Context, inv invocation, cmd *exec.Cmd, err error, stderr string) *Error {
	e := &Error{Verb: inv.verb, ID: inv.id, ExitCode: -1, Stderr: stderr, Err: err}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		e.ExitCode = exitErr.ExitCode()
		e.Err = nil // the exit code says it; the message is in Stderr
	}
	e.kind = classify(ctx, err, stderr)
	if ctx.Err() != nil {
		e.Err = ctx.Err()
	}
	return e
}

// messages maps phrases of runsc's error messages to errdefs kinds. runsc
// has no machine-readable error codes; this table is the one place its text
// is interpreted.
var messages = []struct {
	phrase string
	kind   error
}{
	{"file does not exist", errdefs.ErrNotFound}, // loading container: <state file>
	{"container does not exist", errdefs.ErrNotFound},
	{"no such file or directory", errdefs.ErrNotFound},
	{"already exists", errdefs.ErrAlreadyExists},
	{"in state ", errdefs.ErrFailedPrecondition}, // cannot <verb> container "x" in state stopped
	{"is not running", errdefs.ErrFailedPrecondition},
	{"not stopped", errdefs.ErrFailedPrecondition},
	{"unknown signal", errdefs.ErrInvalidArgument},
	{"invalid value", errdefs.ErrInvalidArgument},
}

// classify picks the errdefs kind of a failure: the context first, then a
// binary that would not start, then runsc's message; nil when unknown.
func classify(ctx context.Context, err error, stderr string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errdefs.ErrDeadlineExceeded
	case ctx.Err() != nil:
		return nil // context.Canceled is carried in Err
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return errdefs.ErrUnavailable
	}
	lower := strings.ToLower(stderr)
	for _, m := range messages {
		if strings.Contains(lower, m.phrase) {
			return m.kind
		}
	}
	return nil
}

func invalid(format string, args ...any) error { return errdefs.InvalidArgument(format, args...) }
