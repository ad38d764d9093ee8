package runsc

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// State is what `runsc state` and `runsc list` report for a container.
// Status is one of specs.StateCreated, StateRunning, StateStopped or
// "paused".
type State = specs.State

// StatePaused is the status runsc reports for a paused container.
const StatePaused specs.ContainerState = "paused"

// Start starts a created container.
func (r *Runsc) Start(ctx context.Context, id string) error {
	_, err := r.run(ctx, invocation{verb: "start", id: id, args: []string{id}})
	return err
}

// State returns the container's state.
func (r *Runsc) State(ctx context.Context, id string) (*State, error) {
	out, err := r.run(ctx, invocation{verb: "state", id: id, args: []string{id}})
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(out, &s); err != nil {
		return nil, &Error{Verb: "state", ID: id, ExitCode: -1, Err: fmt.Errorf("decoding state: %w", err)}
	}
	return &s, nil
}

// ListIDs returns the ids of the containers under --root (`runsc list
// --quiet`). It does not ask each sandbox for its state, as `runsc list
// --format=json` does: with 300 sandboxes on a loaded host that took
// 7.8 s, this 0.2 s.
func (r *Runsc) ListIDs(ctx context.Context) ([]string, error) {
	out, err := r.run(ctx, invocation{verb: "list", args: []string{"--quiet"}})
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Wait waits for the container's init process and returns its exit status
// (128+signal when signalled). runsc yields it only once, and only to the
// sandbox's parent after the sandbox is gone: supervisors reap the sandbox
// instead; this is for completeness and debugging.
func (r *Runsc) Wait(ctx context.Context, id string) (int, error) {
	out, err := r.run(ctx, invocation{verb: "wait", id: id, args: []string{id}})
	if err != nil {
		return -1, err
	}
	var res struct {
		ExitStatus int `json:"exitStatus"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return -1, &Error{Verb: "wait", ID: id, ExitCode: -1, Err: fmt.Errorf("decoding wait result: %w", err)}
	}
	return res.ExitStatus, nil
}

// KillOptions selects which processes Kill signals; the zero value signals
// the container's init process.
type KillOptions struct {
	// All signals every process of the container.
	All bool
	// Pid signals one process (pid in the sandbox's root PID namespace).
	Pid int
	// Pgid signals a process group (in the sandbox's root PID namespace).
	Pgid int
}

// Kill sends sig to the container. The signal is passed as a number, so
// any signal ParseSignal accepts works.
func (r *Runsc) Kill(ctx context.Context, id string, sig unix.Signal, o KillOptions) error {
	if sig <= 0 {
		return invalid("signal %d is not a signal", int(sig))
	}
	var args []string
	switch {
	case o.All:
		args = append(args, "--all")
	case o.Pid > 0:
		args = append(args, "--pid="+strconv.Itoa(o.Pid))
	case o.Pgid > 0:
		args = append(args, "--pgid="+strconv.Itoa(o.Pgid))
	}
	args = append(args, id, strconv.Itoa(int(sig)))
	_, err := r.run(ctx, invocation{verb: "kill", id: id, args: args})
	return err
}

// Delete removes the container's runsc state; force kills it first if it
// is still running.
func (r *Runsc) Delete(ctx context.Context, id string, force bool) error {
	args := []string{id}
	if force {
		args = []string{"--force", id}
	}
	_, err := r.run(ctx, invocation{verb: "delete", id: id, args: args})
	return err
}

// DeleteAll is Delete --force for several containers in one runsc process
// (one process start instead of one per container). runsc stops at the
// first id it does not find and reports success, so callers check HasState
// afterwards and delete what is left one by one.
func (r *Runsc) DeleteAll(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := append([]string{"--force"}, ids...)
	_, err := r.run(ctx, invocation{verb: "delete", id: strings.Join(ids, ","), args: args})
	return err
}

// HasState reports whether runsc keeps a state file for id in its root:
// true from `runsc create` until `runsc delete`.
func (r *Runsc) HasState(id string) bool {
	m, _ := filepath.Glob(filepath.Join(r.Root, id+"_sandbox:*.state"))
	return len(m) > 0
}

// Pause freezes every process of the container.
func (r *Runsc) Pause(ctx context.Context, id string) error {
	_, err := r.run(ctx, invocation{verb: "pause", id: id, args: []string{id}})
	return err
}

// Resume thaws a paused container.
func (r *Runsc) Resume(ctx context.Context, id string) error {
	_, err := r.run(ctx, invocation{verb: "resume", id: id, args: []string{id}})
	return err
}

// Ps returns the pids (in the sandbox's PID namespace) of the container's
// processes.
func (r *Runsc) Ps(ctx context.Context, id string) ([]int, error) {
	out, err := r.run(ctx, invocation{verb: "ps", id: id, args: []string{"--format=json", id}})
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, &Error{Verb: "ps", ID: id, ExitCode: -1, Err: fmt.Errorf("decoding ps: %w", err)}
	}
	return pids, nil
}

// WaitStatus is Wait as a wait status. runsc wait reports a death by
// signal N as exit code 128+N, so the status says "exited" either way.
func (r *Runsc) WaitStatus(ctx context.Context, id string) (unix.WaitStatus, error) {
	code, err := r.Wait(ctx, id)
	if err != nil {
		return 0, err
	}
	return unix.WaitStatus((code & 0xff) << 8), nil
}
