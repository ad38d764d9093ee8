package sandbox

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// CreateOptions are the per-container settings of Create.
type CreateOptions struct {
	// Bundle is the bundle directory; empty means Paths(id).Bundle.
	Bundle string
	// Network overrides the runsc --network for this container.
	Network string
	// OpenStdin keeps stdin open for AttachStdin.
	OpenStdin bool
	// Terminal runs the process on a terminal of TerminalRows x
	// TerminalCols (0: 24x80) that the supervisor holds (AttachStdin
	// writes to it, Resize resizes it); the bundle must say
	// process.terminal.
	Terminal                   bool
	TerminalRows, TerminalCols uint16
	// Timeout is the max runtime after start, enforced by the supervisor.
	Timeout time.Duration
	// LogMaxBytes caps the container log; 0 means the Manager's default.
	LogMaxBytes int64
	// Start starts the container right after create (no hooks between).
	Start bool
	// Restore, when set, makes the start a restore from a checkpoint image.
	Restore *runsc.RestoreOptions
	// Pod, when set, is the id of a running container whose sandbox this
	// one joins (the bundle must name it too): the sandbox stays that
	// container's, and this one's supervisor waits for its own process
	// only.
	Pod string
}

// Create spawns the container's supervisor, which runs runsc create, and
// returns once the container is created (or, with Start, running). The
// daemon runs its createRuntime hooks between Create and Start. On error
// the container may be half created: Delete it with Force.
func (m *Manager) Create(ctx context.Context, id string, o CreateOptions) (Status, error) {
	if err := supervisor.ValidID(id); err != nil {
		return Status{}, err
	}
	p := m.Paths(id)
	if _, err := os.Stat(p.Exit); err == nil {
		return Status{}, errdefs.AlreadyExists("container %s already ran; delete it first", id)
	}
	if err := os.MkdirAll(p.Container, 0o700); err != nil {
		return Status{}, err
	}
	bundle := o.Bundle
	if bundle == "" {
		bundle = p.Bundle
	}
	rs := *m.runsc
	if o.Network != "" {
		rs.Network = o.Network
	}
	logMax := o.LogMaxBytes
	if logMax == 0 {
		logMax = m.cfg.LogMaxBytes
	}
	spec := supervisor.Spec{
		ID: id, Bundle: bundle, Runsc: rs, Dir: p.Supervisor,
		LogPath: p.Log, LogMaxBytes: logMax, LogMinFreeBytes: m.cfg.LogMinFreeBytes, ExitPath: p.Exit,
		OpenStdin: o.OpenStdin, Timeout: o.Timeout, Start: o.Start, Restore: o.Restore,
		Terminal: o.Terminal, TerminalRows: o.TerminalRows, TerminalCols: o.TerminalCols,
		Pod: o.Pod,
	}
	var st Status
	var err error
	if m.spawner != nil {
		st, err = m.spawner.Spawn(ctx, spec)
	} else {
		st, err = supervisor.Spawn(ctx, spec, m.spawnOptions())
	}
	if err != nil {
		return Status{}, err
	}
	m.log.Info("container created", zap.String("id", id), zap.Int("sandbox_pid", st.SandboxPid), zap.Int("supervisor_pid", st.SupervisorPid))
	return st, nil
}

// Start starts a created container.
func (m *Manager) Start(ctx context.Context, id string) (Status, error) {
	if err := supervisor.ValidID(id); err != nil {
		return Status{}, err
	}
	st, err := m.client(id).Start(ctx)
	if errors.Is(err, errdefs.ErrUnavailable) {
		if cur, serr := m.Status(ctx, id); serr == nil && cur.Exit != nil {
			return cur, errdefs.FailedPrecondition("container %s has exited", id)
		}
	}
	return st, err
}

// Status returns the container's state from its supervisor or, once the
// supervisor is gone, from exit.json. A container whose supervisor vanished
// without recording a status is reported as it is: running unsupervised
// (SupervisorPid 0), or stopped with reason "lost".
func (m *Manager) Status(ctx context.Context, id string) (Status, error) {
	return m.status(ctx, id, true)
}

// SupervisedStatus is Status without asking runsc whether a running
// container is paused (a runsc process each): what recovery needs, since
// the record already says whether the API paused it.
func (m *Manager) SupervisedStatus(ctx context.Context, id string) (Status, error) {
	return m.status(ctx, id, false)
}

// status is Status; withPaused asks runsc whether a running container is
// paused, a runsc process that waiting has no use for.
func (m *Manager) status(ctx context.Context, id string, withPaused bool) (Status, error) {
	if err := supervisor.ValidID(id); err != nil {
		return Status{}, err
	}
	c := m.client(id)
	for attempt := 0; ; attempt++ {
		pid, alive := supervisor.Running(c.Dir())
		if !alive {
			break
		}
		st, err := c.Status(ctx)
		if err == nil && withPaused {
			return m.withPaused(ctx, st), nil
		}
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, errdefs.ErrUnavailable) {
			return Status{}, err
		}
		if attempt == 30 {
			// Alive but silent for 3s: it is still running `runsc create`
			// (its socket opens after it), or it is stuck. Say so; never
			// record a status for a container whose supervisor lives.
			m.log.Info("supervisor alive but not answering yet", zap.String("id", id), zap.Error(err))
			return Status{ID: id, State: specs.StateCreating, SupervisorPid: pid}, nil
		}
		// Starting up or exiting (socket gone, pid file not yet).
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return Status{}, err
		}
	}
	return m.offlineStatus(ctx, id)
}

// withPaused asks runsc whether a running container is paused (only runsc
// knows; the supervisor does not take part in pause).
func (m *Manager) withPaused(ctx context.Context, st Status) Status {
	if st.State != specs.StateRunning {
		return st
	}
	if rs, err := m.runsc.State(ctx, st.ID); err == nil && rs.Status == runsc.StatePaused {
		st.State = runsc.StatePaused
	}
	return st
}

// offlineStatus is the status of a container without a live supervisor.
func (m *Manager) offlineStatus(ctx context.Context, id string) (Status, error) {
	p := m.Paths(id)
	if ex, err := supervisor.ReadExit(p.Exit); err == nil {
		return Status{ID: id, State: specs.StateStopped, StartedAt: ex.StartedAt, Exit: &ex}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Status{}, err
	}
	if !exists(p.Supervisor) && !exists(p.Container) && !exists(p.Bundle) {
		return Status{}, errdefs.NotFound("container %s not found", id)
	}
	rs, err := m.runsc.State(ctx, id)
	switch {
	case err == nil && rs.Status != specs.StateStopped:
		return Status{ID: id, State: rs.Status, SandboxPid: rs.Pid}, nil
	case err != nil && !errors.Is(err, errdefs.ErrNotFound):
		return Status{}, err
	}
	// A supervisor that holds its lock but has not written its pid file
	// yet is starting: not lost.
	if release, busy, err := supervisor.Claim(p.Supervisor); err == nil {
		release()
		if busy {
			return Status{ID: id, State: specs.StateCreating}, nil
		}
	}
	// The supervisor writes exit.json before it lets go of its lock: it
	// may have done both since the first look above. Now that the lock is
	// free, what the file says (or its absence) is final.
	if ex, err := supervisor.ReadExit(p.Exit); err == nil {
		return Status{ID: id, State: specs.StateStopped, StartedAt: ex.StartedAt, Exit: &ex}, nil
	}
	// Gone, and nobody recorded how: say so, once and for all, with what
	// the supervisor last logged (a panic's trace lands there too).
	m.log.Warn("supervisor gone without an exit status", zap.String("id", id),
		zap.String("supervisor", supervisor.WhyNotRunning(p.Supervisor)),
		zap.Strings("container_dir", dirNames(p.Container)),
		zap.String("supervisor_log_tail", supervisor.LogTail(filepath.Join(p.Supervisor, supervisor.LogFile))))
	ex := ExitStatus{ExitCode: -1, Reason: supervisor.ReasonLost, FinishedAt: time.Now(),
		Message: "the supervisor is gone and recorded no exit status; the exit code is unknown"}
	if exists(p.Container) {
		if err := supervisor.WriteExit(p.Exit, ex); err != nil {
			m.log.Warn("recording lost exit status", zap.String("id", id), zap.Error(err))
		}
	}
	return Status{ID: id, State: specs.StateStopped, Exit: &ex}, nil
}

// Wait blocks until the container has exited and returns its exit status;
// it returns at once for an exited container.
func (m *Manager) Wait(ctx context.Context, id string) (ExitStatus, error) {
	for {
		st, err := m.status(ctx, id, false)
		if err != nil {
			return ExitStatus{}, err
		}
		if st.Exit != nil {
			return *st.Exit, nil
		}
		if st.SupervisorPid == 0 { // unsupervised: poll runsc
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return ExitStatus{}, err
			}
			continue
		}
		st, err = m.client(id).Wait(ctx)
		if err == nil && st.Exit != nil {
			return *st.Exit, nil
		}
		if err != nil && !errors.Is(err, errdefs.ErrUnavailable) {
			return ExitStatus{}, err
		}
		// The supervisor went away mid-wait: look again.
	}
}

// Kill sends sig to the container's init process, or to all processes.
func (m *Manager) Kill(ctx context.Context, id string, sig unix.Signal, all bool) error {
	st, err := m.Status(ctx, id)
	if err != nil {
		return err
	}
	if st.Exit != nil {
		return errdefs.FailedPrecondition("container %s is not running", id)
	}
	if st.SupervisorPid == 0 {
		return m.runsc.Kill(ctx, id, sig, runsc.KillOptions{All: all})
	}
	return m.client(id).Kill(ctx, sig, all)
}

// Stop sends SIGTERM, then SIGKILL to all processes after grace, and
// returns the exit status. Stopping a stopped container succeeds.
func (m *Manager) Stop(ctx context.Context, id string, grace time.Duration) (ExitStatus, error) {
	return m.StopWith(ctx, id, 0, grace)
}

// StopWith is Stop with sig (0: SIGTERM) as the first signal; see
// supervisor.StopSignals for which signals are sent.
func (m *Manager) StopWith(ctx context.Context, id string, sig unix.Signal, grace time.Duration) (ExitStatus, error) {
	for {
		st, err := m.Status(ctx, id)
		if err != nil {
			return ExitStatus{}, err
		}
		if st.Exit != nil {
			return *st.Exit, nil
		}
		if st.SupervisorPid == 0 && st.State != specs.StateCreating {
			first, escalate := supervisor.StopSignals(st.State == specs.StateRunning, sig, grace)
			escalated := false
			if escalate {
				_ = m.runsc.Kill(ctx, id, first, runsc.KillOptions{})
				wctx, cancel := context.WithTimeout(ctx, grace)
				_, werr := m.Wait(wctx, id)
				cancel()
				escalated = werr != nil
			}
			_ = m.runsc.Kill(ctx, id, unix.SIGKILL, runsc.KillOptions{All: true})
			ex, err := m.Wait(ctx, id)
			ex.StopEscalated = ex.StopEscalated || escalated
			return ex, err
		}
		if st.SupervisorPid == 0 { // starting: wait for it to answer
			if err := sleep(ctx, 100*time.Millisecond); err != nil {
				return ExitStatus{}, err
			}
			continue
		}
		st, err = m.client(id).Stop(ctx, sig, grace)
		if err == nil && st.Exit != nil {
			return *st.Exit, nil
		}
		if err != nil && !errors.Is(err, errdefs.ErrUnavailable) {
			return ExitStatus{}, err
		}
		// The supervisor is still creating (not answering yet) or just
		// went away: look again; ctx bounds the wait.
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return ExitStatus{}, err
		}
	}
}

// AttachStdin returns the container's stdin (created with OpenStdin); one
// attachment at a time. Closing it closes the container's stdin unless
// keepOpen.
func (m *Manager) AttachStdin(ctx context.Context, id string, keepOpen bool) (io.WriteCloser, error) {
	if err := supervisor.ValidID(id); err != nil {
		return nil, err
	}
	return m.client(id).Stdin(ctx, keepOpen)
}

// Resize sets a TTY container's terminal size (see supervisor.Client.Resize).
func (m *Manager) Resize(ctx context.Context, id string, rows, cols uint16) error {
	if err := supervisor.ValidID(id); err != nil {
		return err
	}
	return m.client(id).Resize(ctx, rows, cols)
}

// Recover lists every container found on disk with its status, but for
// the ids in skip: the scan a restarted daemon runs for containers it has
// no record of. Those in skip are not looked at at all: asking for a
// status has effects (a container found with neither supervisor nor exit
// status gets a "lost" exit.json), which must not race with the caller
// undoing or deleting them. One unreadable entry is logged and skipped,
// never fatal.
func (m *Manager) Recover(ctx context.Context, skip map[string]bool) []Status {
	ids := map[string]bool{}
	for _, dir := range []string{filepath.Join(m.cfg.StateDir, "supervisors"), filepath.Join(m.cfg.RootDir, "containers"), filepath.Join(m.cfg.StateDir, "bundles")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			m.log.Warn("recover: listing", zap.String("dir", dir), zap.Error(err))
			continue
		}
		for _, e := range entries {
			if e.IsDir() && supervisor.ValidID(e.Name()) == nil && !skip[e.Name()] {
				ids[e.Name()] = true
			}
		}
	}
	var out []Status
	for id := range ids {
		st, err := m.Status(ctx, id)
		if err != nil {
			m.log.Warn("recover: skipping container", zap.String("id", id), zap.Error(err))
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Alive reports, without asking the supervisor, that id's supervisor runs
// and no exit has been written for it: what recovery needs to adopt a
// running container as it is (its watcher then asks the supervisor in the
// background). False means "look closer" (Status), not "gone".
func (m *Manager) Alive(id string) bool {
	if supervisor.ValidID(id) != nil {
		return false
	}
	p := m.Paths(id)
	if exists(p.Exit) {
		return false
	}
	_, alive := supervisor.Running(p.Supervisor)
	return alive
}

// dirNames lists dir's entries, for a log line; nil when it cannot.
func dirNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{err.Error()}
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
