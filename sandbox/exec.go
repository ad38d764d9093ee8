package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// ExecSpec describes an extra process in a running container.
type ExecSpec struct {
	// Args is the argv; required.
	Args []string
	// Env entries ("KEY=VALUE") are added to the container's, replacing
	// the same keys.
	Env []string
	// User overrides the container's user when set.
	User *specs.User
	// Cwd overrides the container's working directory when set (absolute).
	Cwd string
	// Capabilities override the container's when set (the daemon's own
	// file helper; never from a request).
	Capabilities *specs.LinuxCapabilities
}

// ExecIO are an exec'd process's standard streams (nil: /dev/null) and
// the signals to deliver to it.
type ExecIO = runsc.ExecOptions

// Terminal is an exec's pseudo-terminal (ExecIO.Terminal); WinSize its size.
type (
	Terminal = runsc.Terminal
	WinSize  = runsc.WinSize
)

// ExecExit is how an exec'd process ended: its exit code and the signal
// that ended it, if any.
type ExecExit = runsc.ExecExit

// Exec runs e in the running container and returns its exit code
// (128+signal when signalled); see ExecProcess.
func (m *Manager) Exec(ctx context.Context, id string, e ExecSpec, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	ex, err := m.ExecProcess(ctx, id, e, ExecIO{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	return ex.Code, err
}

// ExecProcess runs e in the running container through runsc exec (or
// Direct) and returns how it ended. The process inherits the container's
// process settings (capabilities, rlimits, no_new_privileges) from the
// bundle. Each signal on o.Signals is delivered to the process (its pid in
// the sandbox). Cancelling ctx (a vanished client, a timeout) kills it
// and its process group; it dies with the sandbox anyway.
func (m *Manager) ExecProcess(ctx context.Context, id string, e ExecSpec, o ExecIO) (ExecExit, error) {
	if err := supervisor.ValidID(id); err != nil {
		return ExecExit{Code: -1}, err
	}
	p, err := m.execProcess(id, e)
	if err != nil {
		return ExecExit{Code: -1}, err
	}
	if m.cfg.Direct != nil {
		return m.cfg.Direct.ExecProcess(ctx, id, p, o)
	}
	return m.runsc.ExecProcess(ctx, id, p, o)
}

// execProcess builds the exec'd process on top of the container's.
func (m *Manager) execProcess(id string, e ExecSpec) (*specs.Process, error) {
	if len(e.Args) == 0 {
		return nil, errdefs.InvalidArgument("exec: no command")
	}
	if e.Cwd != "" && (!path.IsAbs(e.Cwd) || path.Clean(e.Cwd) == "/proc" || strings.HasPrefix(path.Clean(e.Cwd), "/proc/")) {
		return nil, errdefs.InvalidArgument("exec: working directory %q must be absolute and outside /proc", e.Cwd)
	}
	for _, kv := range e.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, errdefs.InvalidArgument("exec: env entry %q is not KEY=VALUE", kv)
		}
	}
	base := &specs.Process{Cwd: "/"}
	if spec, err := m.bundleSpec(id); err == nil && spec.Process != nil {
		base = spec.Process
	} else if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	p := *base
	p.Terminal, p.ConsoleSize = false, nil
	p.Args = e.Args
	p.Env = mergeEnv(base.Env, e.Env)
	if e.User != nil {
		p.User = *e.User
	}
	if e.Cwd != "" {
		p.Cwd = e.Cwd
	}
	if e.Capabilities != nil {
		p.Capabilities = e.Capabilities
	}
	return &p, nil
}

// bundleSpec reads the container's config.json, from the bundle its
// supervisor was given.
func (m *Manager) bundleSpec(id string) (*specs.Spec, error) {
	paths := m.Paths(id)
	bundle := paths.Bundle
	if data, err := os.ReadFile(filepath.Join(paths.Supervisor, supervisor.SpecFile)); err == nil {
		var s supervisor.Spec
		if json.Unmarshal(data, &s) == nil && s.Bundle != "" {
			bundle = s.Bundle
		}
	}
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// mergeEnv returns base with extra's entries added, replacing equal keys.
func mergeEnv(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	idx := map[string]int{}
	for _, kv := range append(append([]string{}, base...), extra...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}
