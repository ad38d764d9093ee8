package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// SpawnOptions say how to start the supervisor process.
type SpawnOptions struct {
	// Command is the executable and its leading arguments; Spawn appends
	// "[--parent <Parent>] --spec-fd 4 --ready-fd 3". In nucleusd this is
	// the nucleus-supervisor executable (or {nucleusd, "supervise"}), whose
	// main hands the rest to Main.
	Command []string
	// Env is the supervisor's whole environment; PATH is added when
	// missing. The daemon's own environment is not inherited.
	Env []string
	// Parent, when set, is the directory every spec's Dir must be directly
	// in (nucleusd's <state>/supervisors). Supervisors are started with it,
	// so ps tells whose a spare is, and they refuse a spec elsewhere.
	Parent string
	// RefillDelay is how long a Spawner waits after a create before it
	// starts the next spare; zero starts it at once. A process start-up
	// overlapping the sandbox just created (its boot, its workload's first
	// steps) slows that container, so the spare is better started once
	// the new container is past them.
	RefillDelay time.Duration
	// Reuse is how many containers one supervisor process of a Spawner
	// supervises, one after another (see reuse.go); 0 or 1: one each.
	Reuse int
	// MaxIdle is how many free supervisors a Spawner keeps: spares not
	// used yet and reused ones back from their container; 0 means 1.
	MaxIdle int
	// IdleTimeout ends free supervisors beyond the newest one after this
	// long unused; 0 means a minute.
	IdleTimeout time.Duration
}

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spawn starts a supervisor for spec and returns once it has created the
// container (state "created", or "running" with spec.Start) or failed. The
// supervisor runs in its own session with /dev/null stdio and no parent-death
// signal, so it outlives the daemon; the daemon reaps it only if it is still
// alive when the supervisor exits.
//
// If ctx ends first, the supervisor is killed; the container may be half
// created and must be deleted.
func Spawn(ctx context.Context, spec Spec, opts SpawnOptions) (Status, error) {
	return (&Spawner{opts: opts}).spawn(ctx, spec, false)
}

// Spawner starts supervisors like Spawn, keeping free ones ready (pool.go):
// a spare started ahead of need has paid for its exec and Go runtime start
// (about 20 ms of a cold run on a slow machine) before the create that
// takes it, and with Reuse a supervisor whose container has ended serves
// the next one. A free supervisor waits for the path of its spec on a pipe
// and exits when the pipe closes without one (Close, or the daemon's
// death): free supervisors never outlive the daemon, only supervisors of
// containers do.
type Spawner struct {
	opts SpawnOptions

	mu      sync.Mutex
	idle    []*spare    // free supervisors, longest free first
	pending *time.Timer // a refill after RefillDelay, not yet started
	trimmer *time.Timer // ends supervisors free longer than IdleTimeout
	closed  bool
}

// spare is a supervisor process waiting for a spec.
type spare struct {
	cmd       *exec.Cmd
	specW     *os.File      // write end of the pipe it reads its spec paths from (fd 4)
	readyR    *os.File      // read end of its ready pipe (fd 3)
	ready     *bufio.Reader // reads readyR, across containers
	reusable  bool          // started with --reuse: it comes back after its container
	idleSince time.Time
}

// NewSpawner returns a Spawner; the first spare starts after the first
// Spawn (a daemon that creates nothing runs no spare).
func NewSpawner(opts SpawnOptions) *Spawner { return &Spawner{opts: opts} }

// Spawn is the package's Spawn, served by a free supervisor when there is
// one.
func (s *Spawner) Spawn(ctx context.Context, spec Spec) (Status, error) {
	return s.spawn(ctx, spec, true)
}

func (s *Spawner) spawn(ctx context.Context, spec Spec, pooled bool) (Status, error) {
	if err := spec.Validate(); err != nil {
		return Status{}, err
	}
	if len(s.opts.Command) == 0 {
		return Status{}, errdefs.InvalidArgument("supervisor command not set")
	}
	if err := spec.checkParent(s.opts.Parent); err != nil {
		return Status{}, err
	}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return Status{}, err
	}
	if pid, ok := Running(spec.Dir); ok {
		return Status{}, errdefs.AlreadyExists("container %s already has a supervisor (pid %d)", spec.ID, pid)
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return Status{}, err
	}
	specPath := spec.path(SpecFile)
	if err := writeFileAtomic(specPath, data, 0o600); err != nil {
		return Status{}, err
	}
	sp := s.takeSpare()
	fromPool := sp != nil && sp.hand(specPath)
	if !fromPool {
		if sp, err = s.startWith(spec, pooled); err != nil {
			return Status{}, err
		}
	}
	st, err := sp.await(ctx, spec)
	if errors.Is(err, errNoReport) && fromPool && untouched(spec) {
		// A free supervisor that died (killed, out of memory) just before
		// or as it was handed the spec did nothing with it: a new one does.
		sp.discard()
		if sp, err = s.startWith(spec, pooled); err != nil {
			return Status{}, err
		}
		st, err = sp.await(ctx, spec)
	}
	switch {
	case err != nil:
		sp.discard()
	case sp.reusable:
		go s.awaitIdle(sp)
	default:
		_ = sp.readyR.Close()
	}
	if pooled {
		s.scheduleRefill()
	}
	return st, err
}

// startWith starts a supervisor and hands it spec (already written).
func (s *Spawner) startWith(spec Spec, pooled bool) (*spare, error) {
	sp, err := s.start(pooled && s.opts.Reuse > 1)
	if err != nil {
		return nil, err
	}
	if !sp.hand(spec.path(SpecFile)) {
		return nil, fmt.Errorf("supervisor of %s exited before it was given its spec; its log: %s: %w",
			spec.ID, LogTail(spec.path(LogFile)), errdefs.ErrInternal)
	}
	return sp, nil
}

// start starts a supervisor process that waits for its spec path on fd 4
// and reports on fd 3.
func (s *Spawner) start(reusable bool) (*spare, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyW.Close()
	specR, specW, err := os.Pipe()
	if err != nil {
		readyR.Close()
		return nil, err
	}
	defer specR.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		readyR.Close()
		specW.Close()
		return nil, err
	}
	defer devNull.Close()
	args := append([]string{}, s.opts.Command[1:]...)
	if s.opts.Parent != "" {
		args = append(args, parentFlag, s.opts.Parent)
	}
	if reusable {
		args = append(args, reuseFlag, strconv.Itoa(s.opts.Reuse))
	}
	args = append(args, specFDFlag, "4", readyFDFlag, "3")
	cmd := exec.Command(s.opts.Command[0], args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, devNull, devNull
	cmd.ExtraFiles = []*os.File{readyW, specR}
	cmd.Env = supervisorEnv(s.opts.Env)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		readyR.Close()
		specW.Close()
		return nil, errdefs.Unavailable("starting supervisor %s: %v", s.opts.Command[0], err)
	}
	go func() { _ = cmd.Wait() }()
	return &spare{cmd: cmd, specW: specW, readyR: readyR, ready: bufio.NewReader(readyR), reusable: reusable, idleSince: time.Now()}, nil
}

// hand gives the spare its spec path; false when it is gone (then it is
// discarded). A single-use supervisor's spec pipe closes behind it.
func (sp *spare) hand(specPath string) bool {
	_, err := sp.specW.WriteString(specPath + "\n")
	if !sp.reusable {
		if cerr := sp.specW.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		sp.discard()
		return false
	}
	return true
}

// discard ends a free supervisor that will not be used, or lets a busy one
// exit after its container.
func (sp *spare) discard() {
	_ = sp.specW.Close() // a waiting supervisor exits on EOF
	_ = sp.readyR.Close()
}

// report reads the supervisor's next line on its ready pipe: a container's
// readiness report or, from a reusable one, its "idle" line.
func (sp *spare) report() (Response, error) {
	var resp Response
	line, err := sp.ready.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &resp)
	}
	return resp, err
}

// errNoReport: the supervisor's ready pipe closed without a report.
var errNoReport = errors.New("no report")

// untouched reports whether no supervisor started on spec: its directory
// has neither a log nor a pid file (a supervisor's first steps write them,
// before anything else it does for the container).
func untouched(spec Spec) bool {
	for _, f := range []string{LogFile, PidFile} {
		if _, err := os.Lstat(spec.path(f)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// await waits for the readiness report of the supervisor given spec.
func (sp *spare) await(ctx context.Context, spec Spec) (Status, error) {
	type result struct {
		resp Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := sp.report()
		ch <- result{resp: resp, err: err}
	}()
	select {
	case <-ctx.Done():
		_ = sp.cmd.Process.Kill()
		return Status{}, errdefs.DeadlineExceeded("supervisor of %s did not report in time: %v", spec.ID, ctx.Err())
	case r := <-ch:
		switch {
		case r.err != nil:
			return Status{}, fmt.Errorf("supervisor of %s exited without reporting (%v); its log: %s: %w: %w",
				spec.ID, r.err, LogTail(spec.path(LogFile)), errNoReport, errdefs.ErrInternal)
		case !r.resp.OK:
			return Status{}, errorFromResponse(&r.resp)
		case r.resp.Status == nil:
			return Status{}, fmt.Errorf("supervisor of %s reported no status: %w", spec.ID, errdefs.ErrInternal)
		}
		return *r.resp.Status, nil
	}
}

// supervisorEnv is env with what a supervisor needs that env leaves out: a
// PATH, and GOMAXPROCS=1. A supervisor waits on its sandbox and copies its
// output, one thing at a time, and runs on one P (Main); set here, that
// holds from the runtime's start, where a runtime started with two Ps
// costs each new supervisor about 0.75 ms of CPU and 200 page faults
// before Main drops one (bench/README.md, session 14). gVisor does not pass
// GOMAXPROCS on to the sandbox or the gofer it starts.
func supervisorEnv(env []string) []string {
	var hasPath, hasProcs bool
	for _, e := range env {
		hasPath = hasPath || strings.HasPrefix(e, "PATH=")
		hasProcs = hasProcs || strings.HasPrefix(e, "GOMAXPROCS=")
	}
	out := slices.Clone(env)
	if !hasPath {
		out = append([]string{defaultPath}, out...)
	}
	if !hasProcs {
		out = append(out, "GOMAXPROCS=1")
	}
	return out
}

// LogTail returns the end of a supervisor log, for error messages; when
// the Go runtime wrote a crash there (a panic, a fatal error, a signal's
// goroutine dump), its first lines instead, which say why.
func LogTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(none)"
	}
	const limit = 2048
	crash := -1
	for _, head := range []string{"\npanic: ", "\nfatal error: ", "\nSIGQUIT: ", "\nSIGABRT: ", "\nSIGSEGV: ", "\nSIGBUS: "} {
		if i := bytes.LastIndex(data, []byte(head)); i > crash {
			crash = i
		}
	}
	switch {
	case crash >= 0:
		data = data[crash+1:]
		data = data[:min(len(data), limit)]
	case len(data) > limit:
		data = data[len(data)-limit:]
	}
	return strings.TrimSpace(string(data))
}
