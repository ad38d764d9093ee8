// Package sandbox runs containers in gVisor sandboxes under supervisors
// that outlive nucleusd: the daemon's API for create, start, wait, stop,
// exec, stats, pause and delete, which works the same after a restart.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/internal/cgroup"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// Status and ExitStatus are the supervisor's.
type (
	Status     = supervisor.Status
	ExitStatus = supervisor.ExitStatus
)

// Config configures a Manager.
type Config struct {
	// RootDir is nucleusd's --root (containers/<id>/ lives here).
	RootDir string
	// StateDir is nucleusd's --state (runsc/, supervisors/<id>/, secrets/<id>/).
	StateDir string
	// Runsc is the driver; its Root should be StateDir/runsc (set when empty).
	Runsc runsc.Runsc
	// SupervisorCommand starts a supervisor: executable and leading args,
	// e.g. {"/proc/self/exe", "supervise"}.
	SupervisorCommand []string
	// SupervisorEnv is the supervisors' environment.
	SupervisorEnv []string
	// Direct, when set, runs Exec and the removal of runsc state without a
	// runsc process (sandbox/gvisor); nil runs `runsc exec` and `runsc
	// delete`.
	Direct Direct
	// WarmSupervisor keeps a supervisor process started ahead of the next
	// create (supervisor.Spawner); Close ends it. A daemon sets it; the
	// Managers a test makes to look at containers do not need it.
	WarmSupervisor bool
	// SupervisorReuse, SupervisorMaxIdle and SupervisorIdleTimeout are the
	// warm supervisors' supervisor.SpawnOptions Reuse, MaxIdle and
	// IdleTimeout.
	SupervisorReuse       int
	SupervisorMaxIdle     int
	SupervisorIdleTimeout time.Duration
	// LogMaxBytes is the default per-container log cap (0: containerlog's).
	LogMaxBytes int64
	// LogMinFreeBytes: containers' output is dropped (and counted in the
	// log) while the log's file system has less free space (0: never).
	LogMinFreeBytes int64
	// RemoveBundle removes a container's bundle and secrets (the bundle
	// package's job); nil uses a built-in removal that unmounts anything
	// mounted under them first.
	RemoveBundle func(id string, p Paths) error
	// Logger; nil means no logging.
	Logger *zap.Logger
}

// Direct does in nucleusd what would otherwise cost a runsc process.
type Direct interface {
	// ExecProcess runs a process in a running container, delivers
	// o.Signals to it and returns how it ended; ctx's end kills it.
	ExecProcess(ctx context.Context, id string, p *specs.Process, o runsc.ExecOptions) (runsc.ExecExit, error)
	// Delete is `runsc delete --force id`; an id without runsc state is
	// not an error.
	Delete(id string) error
	// Stats is `runsc events --stats id`: one sample of a running
	// container, and its sandbox's host pid. NotFound when runsc has no
	// state for id.
	Stats(id string) (runsc.Stats, int, error)
	// Checkpoint is `runsc checkpoint id` with o's flags.
	Checkpoint(ctx context.Context, id string, o runsc.CheckpointOptions) error
}

// Manager runs supervised containers. It keeps no per-container state in
// memory: everything is found from the directories, so a new Manager after
// a daemon restart sees every container the old one had.
type Manager struct {
	cfg     Config
	runsc   *runsc.Runsc
	log     *zap.Logger
	spawner *supervisor.Spawner // nil: every create starts its supervisor
	// nullNetNS is the empty network namespace every gofer joins, pinned
	// by New for a daemon's manager ("" otherwise).
	nullNetNS string

	cgroups cgroup.MountTable // the host's cgroup mount points, read once
}

// New checks cfg and makes the state directories (0700).
func New(cfg Config) (*Manager, error) {
	if !filepath.IsAbs(cfg.RootDir) || !filepath.IsAbs(cfg.StateDir) {
		return nil, errdefs.InvalidArgument("sandbox: root and state dirs must be absolute (%q, %q)", cfg.RootDir, cfg.StateDir)
	}
	if len(cfg.SupervisorCommand) == 0 {
		return nil, errdefs.InvalidArgument("sandbox: supervisor command not set")
	}
	if cfg.Runsc.Root == "" {
		cfg.Runsc.Root = filepath.Join(cfg.StateDir, "runsc")
	}
	if err := cfg.Runsc.Validate(); err != nil {
		return nil, err
	}
	// containers/ and bundles/ are 0711: a sandbox in a user namespace
	// reaches its rootfs as an unprivileged host uid; everything in them
	// is 0700/0600 (a user namespace's bundle 0711).
	for _, d := range []string{filepath.Join(cfg.RootDir, "containers"), filepath.Join(cfg.StateDir, "bundles")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{
		cfg.Runsc.Root,
		filepath.Join(cfg.StateDir, "supervisors"), filepath.Join(cfg.StateDir, "secrets"),
		filepath.Join(cfg.StateDir, "netns"),
	} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	rs := cfg.Runsc
	m := &Manager{cfg: cfg, runsc: &rs, log: cfg.Logger}
	if cfg.WarmSupervisor {
		// A daemon's manager: it owns runsc's root.
		path, err := pinNullNetNS(rs.Root)
		if err != nil {
			return nil, err
		}
		m.nullNetNS = path
		m.spawner = supervisor.NewSpawner(m.spawnOptions())
	}
	return m, nil
}

// Close ends the warm supervisor, if any. Containers and their supervisors
// keep running.
func (m *Manager) Close() {
	if m.spawner != nil {
		m.spawner.Close()
	}
	if m.nullNetNS != "" {
		if err := unpinNullNetNS(m.nullNetNS); err != nil {
			m.log.Warn("removing the gofers' null network namespace", zap.Error(err))
		}
	}
}

// spareRefillDelay is how long after a create the next spare supervisor
// starts. Measured on a 2-core VM: a spare starting while the container
// just created boots and runs made that run of /bin/true 25-30 ms slower
// (about 10 %); started 250 ms later it lands after the run of a short
// container and after the start-up of a long one.
const spareRefillDelay = 250 * time.Millisecond

func (m *Manager) spawnOptions() supervisor.SpawnOptions {
	return supervisor.SpawnOptions{Command: m.cfg.SupervisorCommand, Env: m.cfg.SupervisorEnv,
		Parent: filepath.Join(m.cfg.StateDir, "supervisors"), RefillDelay: spareRefillDelay,
		Reuse: m.cfg.SupervisorReuse, MaxIdle: m.cfg.SupervisorMaxIdle, IdleTimeout: m.cfg.SupervisorIdleTimeout}
}

// Runsc returns the driver the manager uses.
func (m *Manager) Runsc() *runsc.Runsc { return m.runsc }

// NewID returns a fresh container id: 32 random lowercase hex characters,
// also used as the runsc id (equal lengths: no id is a prefix of another).
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Paths are a container's files and directories.
type Paths struct {
	Container string // <root>/containers/<id>
	Bundle    string // <state>/bundles/<id> (see Paths)
	// OldBundle is where daemons wrote the bundle before it moved to the
	// state directory: <root>/containers/<id>/bundle. A container such a
	// daemon made is still deleted (and its cgroup found) through it
	// (withBundleFound).
	OldBundle  string
	Log        string // <root>/containers/<id>/container.log (+ ".1")
	Exit       string // <root>/containers/<id>/exit.json
	Meta       string // <root>/containers/<id>/meta.json (the daemon's copy of its record)
	Supervisor string // <state>/supervisors/<id>
	Secrets    string // <state>/secrets/<id>
	NetNS      string // <state>/netns/<id> (only with --network=sandbox)
}

// Paths returns id's paths; id must have passed supervisor.ValidID.
//
// The bundle (config.json and the rootfs's mount points, or an image's
// mounts) is in the state directory, as containerd keeps its bundles
// under /run: it lives only as long as the sandbox, which a reboot ends,
// and on a tmpfs its mkdirs, links and unlinks cost a fraction of a
// disk's (a cold run's host cleanup was a quarter of nucleusd's CPU). What
// must outlive a reboot (meta.json, exit.json, the logs) stays in
// <root>/containers/<id>.
func (m *Manager) Paths(id string) Paths {
	c := filepath.Join(m.cfg.RootDir, "containers", id)
	return Paths{
		Container:  c,
		Bundle:     filepath.Join(m.cfg.StateDir, "bundles", id),
		OldBundle:  filepath.Join(c, "bundle"),
		Log:        filepath.Join(c, "container.log"),
		Exit:       filepath.Join(c, "exit.json"),
		Meta:       filepath.Join(c, "meta.json"),
		Supervisor: filepath.Join(m.cfg.StateDir, "supervisors", id),
		Secrets:    filepath.Join(m.cfg.StateDir, "secrets", id),
		NetNS:      filepath.Join(m.cfg.StateDir, "netns", id),
	}
}

// withBundleFound is p with Bundle where the container's bundle is: the
// old place when only that one exists (a container an older daemon made).
func (p Paths) withBundleFound() Paths {
	if !exists(p.Bundle) && exists(p.OldBundle) {
		p.Bundle = p.OldBundle
	}
	return p
}

func (m *Manager) client(id string) *supervisor.Client {
	return supervisor.NewClient(m.Paths(id).Supervisor)
}
