package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// HookError is the failure of one hook run. Its message follows runc's,
// "error running createRuntime hook #1 (/path): exit status 3: <output>",
// with #i counted from 0. Err carries the kind: FailedPrecondition when the
// hook no longer passes validation (it was not run), DeadlineExceeded at
// its timeout, ctx.Err() when the context ended.
type HookError struct {
	Phase  Phase
	Index  int
	Path   string
	Err    error
	Output string // tail of combined stdout and stderr, at most OutputLimit bytes
}

func (e *HookError) Error() string {
	s := fmt.Sprintf("error running %s hook #%d (%s): %v", e.Phase, e.Index, e.Path, e.Err)
	if e.Output != "" {
		s += ": " + e.Output
	}
	return s
}

func (e *HookError) Unwrap() error { return e.Err }

// Run runs the hooks of set for phase in order and stops at the first
// failure, which it returns (a *HookError): the createRuntime semantics.
// set "" runs nothing; an unknown set or phase is InvalidArgument.
func (r *Runner) Run(ctx context.Context, set string, phase Phase, st specs.State) error {
	hooks, state, err := r.prepare(set, phase, st)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		if err := r.runOne(ctx, set, phase, i, h, st.ID, state); err != nil {
			return err
		}
	}
	return nil
}

// RunBestEffort runs every hook of set for phase, whatever earlier ones
// did, and returns the failures (nil when none): the poststart and poststop
// semantics. Each hook still gets its own timeout; a caller running
// poststop during shutdown should pass context.WithoutCancel(ctx).
func (r *Runner) RunBestEffort(ctx context.Context, set string, phase Phase, st specs.State) []error {
	hooks, state, err := r.prepare(set, phase, st)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for i, h := range hooks {
		if err := r.runOne(ctx, set, phase, i, h, st.ID, state); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func (r *Runner) prepare(set string, phase Phase, st specs.State) ([]Hook, []byte, error) {
	if set == "" {
		return nil, nil, nil
	}
	s, ok := r.sets[set]
	if !ok {
		return nil, nil, errdefs.InvalidArgument("unknown hook set %q", set)
	}
	hooks, ok := s.phaseHooks(phase)
	if !ok {
		return nil, nil, errdefs.InvalidArgument("unknown hook phase %q", phase)
	}
	if len(hooks) == 0 {
		return nil, nil, nil
	}
	if st.Version == "" {
		st.Version = specs.Version
	}
	state, err := json.Marshal(st)
	if err != nil {
		return nil, nil, fmt.Errorf("encode state for %s hooks: %w", phase, err)
	}
	return hooks, state, nil
}

// runOne validates hook i again, runs it from the validated fd, and logs
// the outcome. The env is logged by key only: values may be secrets.
func (r *Runner) runOne(ctx context.Context, set string, phase Phase, i int, h Hook, id string, state []byte) error {
	log := r.log.With(zap.String("container", id), zap.String("hook_set", set),
		zap.String("phase", string(phase)), zap.Int("index", i), zap.String("path", h.Path),
		zap.Strings("args", h.Args), zap.Strings("env_keys", envKeys(h.Env)))
	fail := func(err error, output string) error {
		herr := &HookError{Phase: phase, Index: i, Path: h.Path, Err: err, Output: output}
		log.Warn("hook failed", zap.Error(err), zap.String("output", output))
		return herr
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("not started: %w", err), "")
	}
	fd, err := openVerified(h.Path, r.trusted, r.uid)
	if err != nil {
		return fail(errdefs.FailedPrecondition("refused, not run: %v", err), "")
	}
	defer closeFD(fd)
	if r.beforeExec != nil {
		r.beforeExec(h.Path)
	}
	argv := h.Args
	if len(argv) == 0 {
		argv = []string{h.Path}
	}
	env := h.Env
	if len(env) == 0 {
		env = minimalEnv
	}
	timeout := time.Duration(h.Timeout)
	began := time.Now()
	res, err := execute(ctx, fd, argv, env, state, timeout)
	if err != nil {
		return fail(err, "")
	}
	log = log.With(zap.Duration("elapsed", time.Since(began)))
	switch {
	case res.timedOut:
		return fail(errdefs.DeadlineExceeded("timed out after %s; its process group was killed", timeout), res.output)
	case res.ctxErr != nil:
		return fail(fmt.Errorf("stopped, its process group killed: %w", res.ctxErr), res.output)
	case !res.status.Exited() || res.status.ExitStatus() != 0:
		return fail(errors.New(describe(res.status)), res.output)
	}
	log.Info("hook succeeded", zap.String("output", res.output))
	return nil
}

func envKeys(env []string) []string {
	keys := make([]string, len(env))
	for i, e := range env {
		keys[i], _, _ = strings.Cut(e, "=")
	}
	return keys
}

func closeFD(fd int) { _ = unix.Close(fd) }

// RefuseRawHooks returns PermissionDenied when h holds any hook. Apply it
// to every spec or request an API caller hands in, and to the config.json
// given to runsc, which would otherwise run the hooks a second time,
// unchecked: no caller may make nucleusd run a program of its choosing.
func RefuseRawHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	n := len(h.Prestart) + len(h.CreateRuntime) + len(h.CreateContainer) +
		len(h.StartContainer) + len(h.Poststart) + len(h.Poststop)
	if n == 0 {
		return nil
	}
	return errdefs.PermissionDenied("hooks cannot be given in a request (%d found): name a hook set from the daemon's configuration instead", n)
}
