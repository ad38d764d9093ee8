// Package gvisor runs, inside nucleusd, the runsc operations that would
// otherwise cost a runsc process per call — exec into a running container,
// delete — through gVisor's own runsc/container package, from the gVisor version
// pinned in go.mod: the very code bin/runsc is built from. A runsc process
// spends tens of milliseconds starting (Go runtime and gVisor's package
// initialisation) before it sends one request to the sandbox's control
// server; here that request is all an exec costs.
//
// It is used only when the runsc binary nucleusd drives was built from the
// same gVisor module version (read from the binary's Go build information):
// the control protocol and the state files are runsc internals, stable
// only within one version.
package gvisor

import (
	"context"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/sentry/control"
	"gvisor.dev/gvisor/pkg/sentry/kernel/auth"
	"gvisor.dev/gvisor/runsc/config"
	"gvisor.dev/gvisor/runsc/container"
	"gvisor.dev/gvisor/runsc/gvisorbinaries"
	"gvisor.dev/gvisor/runsc/specutils"

	"nucleus.dev/nucleus/internal/errdefs"
)

// module is gVisor's module path.
const module = "gvisor.dev/gvisor"

// ErrOtherVersion means the runsc binary was not built from the gVisor
// version linked into this program; callers then run runsc instead.
var ErrOtherVersion = errors.New("runsc was built from another gVisor version")

// Client drives the sandboxes under one runsc --root.
type Client struct {
	conf   *config.Config
	flags  []string // runsc's global flags, parsed again per Create
	binary string

	stdioMu sync.Mutex // Create swaps the process's os.Stdin/out/err
}

// Open returns a Client for the runsc at binary, run with globalFlags (its
// "--name=value" global flags, --root included), or ErrOtherVersion.
func Open(binary string, globalFlags []string) (*Client, error) {
	linked, err := linkedVersion()
	if err != nil {
		return nil, err
	}
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the build information of %s: %w", binary, err)
	}
	if bi.Main.Path != module || bi.Main.Version != linked {
		return nil, fmt.Errorf("%w: %s is %s %s, nucleusd links %s", ErrOtherVersion, binary, bi.Main.Path, bi.Main.Version, linked)
	}
	conf, err := parseConfig(globalFlags)
	if err != nil {
		return nil, err
	}
	// The sandbox and gofer processes gVisor starts run this binary (the
	// default, /proc/self/exe, is the calling program), under the sidecar
	// policies runsc's main would set from its flags.
	specutils.ExePath = binary
	gvisorbinaries.ReleaseEnforcementPolicy = conf.SidecarReleaseEnforcementPolicy
	gvisorbinaries.UsagePolicy = conf.SidecarUsagePolicy
	return &Client{conf: conf, flags: globalFlags, binary: binary}, nil
}

// parseConfig builds runsc's configuration from its global flags, as its
// main does.
func parseConfig(globalFlags []string) (*config.Config, error) {
	fs := flag.NewFlagSet("runsc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config.RegisterFlags(fs)
	if err := fs.Parse(globalFlags); err != nil {
		return nil, fmt.Errorf("runsc flags %v: %w", globalFlags, err)
	}
	conf, err := config.NewFromFlags(fs)
	if err != nil {
		return nil, fmt.Errorf("runsc flags %v: %w", globalFlags, err)
	}
	return conf, nil
}

// linkedVersion is the gVisor module version this program was built with:
// from its build information, or, in a test binary (which carries no
// dependency list), from the file name of a gVisor function, which holds
// "gvisor.dev/gvisor@<version>/" with or without -trimpath.
func linkedVersion() (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == module {
				if d.Replace != nil {
					return d.Replace.Version, nil
				}
				return d.Version, nil
			}
		}
	}
	pc := reflect.ValueOf(container.Load).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	_, rest, ok := strings.Cut(file, module+"@")
	version, _, slash := strings.Cut(rest, "/")
	if !ok || !slash || version == "" {
		return "", fmt.Errorf("%w: cannot tell which %s version is linked in (%s)", ErrOtherVersion, module, file)
	}
	return version, nil
}

// Exec runs p in the running container id, like `runsc exec --process`:
// its argv, env, working directory, user, capabilities and
// no_new_privileges; rlimits are the sandbox's. stdin (nil: /dev/null) is
// copied in, the output copied out. It returns the exit code (128+n for
// signal n). Cancelling ctx kills the process (and its process group) and
// returns its code with ctx's error. Errors starting it are
// runsc's own ("failed to load ...": see runsc.CommandFailure).
func (c *Client) Exec(ctx context.Context, id string, p *specs.Process, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cont, err := c.load(id)
	if err != nil {
		return -1, err
	}
	caps, err := specutils.Capabilities(c.conf.EnableRaw, p.Capabilities)
	if err != nil {
		return -1, fmt.Errorf("capabilities: %w", err)
	}
	gids := make([]auth.KGID, 0, len(p.User.AdditionalGids))
	for _, g := range p.User.AdditionalGids {
		gids = append(gids, auth.KGID(g))
	}
	std, err := newStdio(stdin, stdout, stderr)
	if err != nil {
		return -1, err
	}
	defer std.close()
	args := &control.ExecArgs{
		Argv:             p.Args,
		Envv:             p.Env,
		WorkingDirectory: p.Cwd,
		KUID:             auth.KUID(p.User.UID),
		KGID:             auth.KGID(p.User.GID),
		ExtraKGIDs:       gids,
		Capabilities:     caps,
		NoNewPrivileges:  p.NoNewPrivileges,
		FilePayload:      control.NewFilePayload(map[int]*os.File{0: std.in, 1: std.out, 2: std.err}, nil),
	}
	pid, err := cont.Execute(c.conf, args)
	std.sent() // the sandbox holds its own copies now
	if err != nil {
		return -1, err
	}
	type result struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		ws, err := cont.WaitPID(pid)
		done <- result{ws, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		// Its process group first: what it started dies with it.
		_ = cont.SignalProcessGroup(unix.SIGKILL, pid)
		_ = cont.SignalProcess(unix.SIGKILL, pid)
		r = <-done
	}
	std.wait(outputGrace)
	if r.err != nil {
		return -1, fmt.Errorf("waiting for pid %d in %s: %w", pid, id, r.err)
	}
	code := r.ws.ExitStatus()
	if r.ws.Signaled() {
		code = 128 + int(r.ws.Signal())
	}
	if err := ctx.Err(); err != nil {
		return code, fmt.Errorf("exec in %s: %w", id, err)
	}
	return code, nil
}

// outputGrace bounds how long Exec waits, after the process exited, for
// its output pipes to close (a background child may hold them), like
// runsc.Runsc's WaitDelay for a runsc exec process.
const outputGrace = 2 * time.Second

// Delete removes container id's runsc state like `runsc delete --force`:
// sandbox and gofer are killed if still there, then runsc's state files
// and the cgroups it made go. An id runsc has no state for is not an error.
func (c *Client) Delete(id string) error {
	cont, err := c.load(id)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := cont.Destroy(); err != nil {
		return fmt.Errorf("destroying container %s: %w", id, err)
	}
	return nil
}

// load loads container id (one container per sandbox, same id) from
// runsc's state; NotFound when runsc has none. The state file is checked
// first: runsc's own loader logs a warning to stderr for an id without
// state.
func (c *Client) load(id string) (*container.Container, error) {
	notFound := errdefs.NotFound("container %s: runsc has no state for it", id)
	state := filepath.Join(c.conf.RootDir, id+"_sandbox:"+id+".state")
	if _, err := os.Stat(state); errors.Is(err, os.ErrNotExist) {
		return nil, notFound
	}
	cont, err := container.Load(c.conf.RootDir, container.FullID{SandboxID: id, ContainerID: id}, container.LoadOpts{Exact: true})
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("loading container %s: %w", id, err)
	}
	return cont, nil
}

// stdio are the pipes an exec'd process gets and the copying around them.
type stdio struct {
	in, out, err *os.File // the process's ends, sent to the sandbox
	ours         []*os.File
	outputs      sync.WaitGroup // the stdout and stderr copies
}

func newStdio(stdin io.Reader, stdout, stderr io.Writer) (*stdio, error) {
	s := &stdio{}
	fail := func(err error) (*stdio, error) {
		s.sent()
		s.close()
		return nil, err
	}
	if stdin == nil {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return fail(err)
		}
		s.in = f
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		s.in, s.ours = r, append(s.ours, w)
		// Not waited for: it ends with its reader, or when the process's
		// side closes (a write then fails).
		go func() {
			_, _ = io.Copy(w, stdin)
			_ = w.Close()
		}()
	}
	for _, dst := range []struct {
		f **os.File
		w io.Writer
	}{{&s.out, stdout}, {&s.err, stderr}} {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		*dst.f, s.ours = w, append(s.ours, r)
		out := dst.w
		if out == nil {
			out = io.Discard
		}
		s.outputs.Add(1)
		go func() {
			defer s.outputs.Done()
			_, _ = io.Copy(out, r)
		}()
	}
	return s, nil
}

// sent closes the process's ends once the sandbox has them (or failed to
// take them): the output copies then end when the process's side closes.
func (s *stdio) sent() {
	for _, f := range []*os.File{s.in, s.out, s.err} {
		if f != nil {
			_ = f.Close()
		}
	}
}

// wait waits for the output to be copied to the end (the process and
// whatever it left behind closed their side), at most grace; then it stops
// the copies.
func (s *stdio) wait(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		s.outputs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		s.close()
		<-done
	}
}

// close releases our ends; a stdin copy still blocked on its reader is
// left to end with it.
func (s *stdio) close() {
	for _, f := range s.ours {
		_ = f.Close()
	}
}
