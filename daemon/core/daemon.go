package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/hooks"
	"nucleus.dev/nucleus/sandbox"
	"nucleus.dev/nucleus/sandbox/containerlog"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/snapshots"
)

// Options configure Open.
type Options struct {
	Config   *config.Config
	RootDir  string // --root
	StateDir string // --state
	Logger   *zap.Logger
	// SupervisorCommand re-executes nucleusd in supervisor mode, e.g.
	// {"/usr/local/bin/nucleusd", "supervise"}.
	SupervisorCommand []string
	// SupervisorEnv is added to the supervisors' environment (nucleusd's
	// CPU profiling setting, cpuprofile.Env).
	SupervisorEnv []string
	// HookOptions are extra options for the hooks runner (tests inject
	// trusted dirs; production never weakens the defaults).
	HookOptions []hooks.Option
	// SelfExe is nucleusd's own path, to find runsc next to it.
	SelfExe string
	// FileHelperDir is a host directory holding only the file helper,
	// mounted read-only into every new sandbox (bundle.Paths.HelperDir);
	// empty leaves it out.
	FileHelperDir string
	// Metrics observes lifecycle timings; nil discards them.
	Metrics Metrics
	// NewDirect, when set, makes the in-process exec and delete for the
	// runsc at binary run with globalFlags (sandbox/gvisor); an error
	// (another runsc version) leaves them to runsc processes, with a log
	// line.
	NewDirect func(binary string, globalFlags []string) (sandbox.Direct, error)
	// NewNetwork, with [network] enabled, starts the "egress" network
	// over the store (which holds its leases) before recovery; nil
	// refuses that mode.
	NewNetwork func(*store.Store) (NetworkAttacher, error)
}

// Metrics receives what the core measures.
type Metrics interface {
	ObserveLifecycle(op string, d time.Duration, err error)
	ObserveHook(phase string, d time.Duration, err error)
	RunscError(subcommand string)
}

type noMetrics struct{}

func (noMetrics) ObserveLifecycle(string, time.Duration, error) {}
func (noMetrics) ObserveHook(string, time.Duration, error)      {}
func (noMetrics) RunscError(string)                             {}

// Daemon is the lifecycle core.
type Daemon struct {
	cfg      *config.Config
	ceil     config.Ceilings // per-container ceilings, resolved at Open
	rootDir  string
	stateDir string
	log      *zap.Logger
	store    *store.Store
	hooks    *hooks.Runner
	sb       *sandbox.Manager
	events   *eventBus
	locks    keyedMutex
	metrics  Metrics
	net      NetworkAttacher // nil: no "egress" network

	runscVersion string

	// ctx lives as long as the daemon: watchers and auto-removals use it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	exited   map[string]*exitWatch // per watched container: its exit, once recorded
	attached map[string]int        // attached runs that remove their container themselves

	cleanups *cleanupQueue // removed containers whose host side the cleaner removes
	userns   usernsRanges  // default user namespace ranges

	helperDir string         // Options.FileHelperDir
	wire      wireCache      // each record's encoded API form, for List
	snaps     *snapshots.Dir // checkpoint images (<root>/snapshots)
	sealed    sealedFiles    // signatures of the snapshots sealed by this process
	bootID    string         // the host boot, recorded with unsealed snapshots
	// logWatch is the one inotify instance every log follower shares; nil
	// (followers poll) when inotify is unavailable.
	logWatch *containerlog.Watcher
	// recovered is closed once recovery has looked at every container;
	// until then the API serves reads only (see Recovered).
	recovered chan struct{}

	images ImageResolver
	// imageMu: creates hold it shared from their image's resolution to
	// their record, removals exclusively (LockImages).
	imageMu sync.RWMutex
}

// Open checks the directories, opens the store, validates the hooks,
// locates runsc and starts recovering every container found. It returns
// before recovery ends: records can be read at once, and Recovered is
// closed once every container has been looked at.
func Open(ctx context.Context, o Options) (*Daemon, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	if err := prepareDirs(o.RootDir, o.StateDir, o.Config.Security.UserNamespace); err != nil {
		return nil, err
	}
	cfg := o.Config
	hr, err := NewHooks(cfg, append([]hooks.Option{hooks.WithLogger(o.Logger.Named("hooks"))}, o.HookOptions...)...)
	if err != nil {
		return nil, err
	}
	path, err := runsc.Locate(cfg.Runsc.Path, o.SelfExe)
	if err != nil {
		return nil, err
	}
	if cfg.Security.UserNamespace {
		if err := checkRunscForUserns(path); err != nil {
			return nil, err
		}
	}
	rs := runsc.Runsc{
		Binary: path, Root: filepath.Join(o.StateDir, "runsc"), Platform: cfg.Runsc.Platform,
		Network: cfg.Runsc.Network, Overlay2: cfg.Runsc.Overlay2, ExtraFlags: cfg.Runsc.ExtraFlags,
	}
	if cfg.Runsc.Debug {
		rs.DebugLogDir = filepath.Join(o.StateDir, "runsc-debug")
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ver, err := rs.Version(vctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("runsc at %s does not answer --version: %w", path, err)
	}
	var direct sandbox.Direct
	if o.NewDirect != nil {
		flags, err := rs.GlobalFlags()
		if err != nil {
			return nil, err
		}
		if direct, err = o.NewDirect(path, flags); err != nil {
			o.Logger.Info("exec and delete run a runsc process per call", zap.String("reason", err.Error()))
			direct = nil
		} else {
			o.Logger.Info("exec and delete run in nucleusd: runsc was built from the gVisor version nucleusd links")
		}
	}
	sb, err := sandbox.New(sandbox.Config{
		Direct:  direct,
		RootDir: o.RootDir, StateDir: o.StateDir, Runsc: rs,
		SupervisorCommand: o.SupervisorCommand, SupervisorEnv: o.SupervisorEnv, WarmSupervisor: true, LogMaxBytes: int64(cfg.Limits.LogMaxBytes),
		SupervisorReuse: cfg.Supervisors.Reuse, SupervisorMaxIdle: cfg.Supervisors.MaxIdle,
		SupervisorIdleTimeout: time.Duration(cfg.Supervisors.IdleTimeout),
		// Logs stop at half the floor that stops creates: the other half
		// stays for the records and exits of running containers.
		LogMinFreeBytes: int64(cfg.Limits.MinFreeDisk) / 2,
		RemoveBundle: func(_ string, p sandbox.Paths) error {
			return bundle.Remove(bundle.Paths{BundleDir: p.Bundle, SecretsDir: p.Secrets})
		},
		Logger: o.Logger.Named("sandbox"),
	})
	if err != nil {
		return nil, err
	}
	if shares := cfg.Limits.ContainersCPUShares; shares > 0 {
		// Before any container starts: runsc creates each container's
		// cgroup under this parent.
		if file, err := sandbox.SetParentCPUShares(bundle.DefaultCgroupParent, uint64(shares)); err != nil {
			o.Logger.Warn("containers share the CPU with nucleusd at the host's default weight", zap.Error(err))
		} else {
			o.Logger.Info("containers' CPU weight set", zap.String("file", file), zap.Int64("shares", shares))
		}
	}
	st, err := store.Open(filepath.Join(o.RootDir, "nucleus.db"), store.Options{
		EventsRetained: cfg.Limits.EventsRetained, MaxContainers: cfg.Limits.MaxContainers,
		MaxContainersPerOwner: cfg.Limits.MaxContainersPerUID,
	})
	if err != nil {
		return nil, err
	}
	if info := st.Info(); info.Rebuilt {
		o.Logger.Warn("the store was corrupt; it was moved aside and records are rebuilt from the supervisors and bundles",
			zap.String("corrupt_copy", info.CorruptPath), zap.String("reason", info.CorruptReason))
	}
	dctx, dcancel := context.WithCancel(context.WithoutCancel(ctx))
	d := &Daemon{
		cfg: cfg, ceil: cfg.Limits.Ceilings(config.HostFacts()), rootDir: o.RootDir, stateDir: o.StateDir, log: o.Logger, store: st, hooks: hr, sb: sb,
		events: newEventBus(st), metrics: o.Metrics, runscVersion: ver.String(),
		ctx: dctx, cancel: dcancel, exited: map[string]*exitWatch{}, attached: map[string]int{},
		cleanups: newCleanupQueue(), helperDir: o.FileHelperDir,
	}
	if cfg.Network.Enabled && o.NewNetwork != nil {
		if d.net, err = o.NewNetwork(st); err != nil {
			dcancel()
			_ = st.Close()
			return nil, fmt.Errorf("starting the egress network: %w", err)
		}
	}
	if d.logWatch, err = containerlog.NewWatcher(); err != nil {
		o.Logger.Warn("log followers poll: no inotify instance", zap.Error(err))
		d.logWatch = nil
	}
	d.events.buffer = cfg.Limits.EventsSubscriberBuffer
	if d.events.buffer <= 0 {
		d.events.buffer = defaultSubscriberBuffer
	}
	recs, err := d.store.ListContainers(nil)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("recovery: listing the records: %w", err)
	}
	if err := d.openSnapshots(); err != nil {
		d.Close()
		return nil, err
	}
	d.recovered = make(chan struct{})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		start := time.Now()
		d.recover(d.ctx, recs)
		d.log.Info("recovery finished", zap.Int("records", len(recs)), zap.Duration("took", time.Since(start)))
		close(d.recovered)
		d.wg.Add(2)
		go d.janitor()
		go d.cleaner()
	}()
	return d, nil
}

// Recovered is closed once recovery has looked at every container. Before
// that, records read from the store may still show a container as running
// that exited while nucleusd was down; anything that acts on a container
// must wait for it (the API server does, see server.Options.Ready).
func (d *Daemon) Recovered() <-chan struct{} { return d.recovered }

// Close stops the watchers and closes the store. Containers and their
// supervisors keep running: a restarted daemon adopts them.
func (d *Daemon) Close() error {
	d.cancel()
	d.wg.Wait()
	d.sb.Close()
	if d.net != nil {
		_ = d.net.Close()
	}
	_ = d.logWatch.Close()
	return d.store.Close()
}

// RunscVersion is the version runsc reported at start.
func (d *Daemon) RunscVersion() string { return d.runscVersion }

// prepareDirs creates --root and --state 0711 and refuses directories
// that others could write or read. --state: group members must reach the
// socket; --root: a sandbox's gofer runs as its user namespace's root (an
// unprivileged host uid) and must reach the bundle's rootfs. Nothing else
// in either is readable by others. With userns (the default user
// namespace on) every parent of --root must be traversable by others too.
func prepareDirs(root, state string, userns bool) error {
	for _, dir := range []struct {
		path string
		mode os.FileMode
	}{{root, 0o711}, {state, 0o711}} {
		if !filepath.IsAbs(dir.path) {
			return fmt.Errorf("%s must be an absolute path", dir.path)
		}
		if err := os.MkdirAll(dir.path, dir.mode); err != nil {
			return fmt.Errorf("create %s: %w", dir.path, err)
		}
		fi, err := os.Lstat(dir.path)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir.path)
		}
		if fi.Mode().Perm() != dir.mode {
			if err := os.Chmod(dir.path, dir.mode); err != nil {
				return fmt.Errorf("chmod %s to %o: %w", dir.path, dir.mode, err)
			}
		}
	}
	if userns {
		return checkTraversable(root)
	}
	return nil
}

// checkRunscForUserns fails unless others may execute runsc: runsc starts
// a sandbox's gofer from it as the unprivileged root of the sandbox's user
// namespace.
func checkRunscForUserns(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o001 == 0 {
		return fmt.Errorf("runsc at %s is mode %o: sandboxes in user namespaces (security.user_namespace) start their gofer from it as an unprivileged uid; make it executable by others (chmod o+x) or turn security.user_namespace off", path, fi.Mode().Perm())
	}
	return checkTraversable(path)
}

// checkTraversable fails unless others may search every parent of dir: the
// gofer of a sandbox in a user namespace reaches its rootfs under --root,
// and is started from runsc, as an unprivileged host uid.
func checkTraversable(dir string) error {
	for p := filepath.Dir(filepath.Clean(dir)); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (a parent of %s) is mode %o: sandboxes in user namespaces (security.user_namespace) cannot reach it as an unprivileged uid; make it searchable by others (chmod o+x) or turn security.user_namespace off", p, dir, fi.Mode().Perm())
		}
		if p == "/" {
			return nil
		}
	}
}

// keyedMutex serialises lifecycle operations per container.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

// keyedEntry is one key's lock: a token in a channel of one, so that a
// waiter can give up (lockCtx).
type keyedEntry struct {
	token chan struct{}
	refs  int
}

func (k *keyedMutex) lock(key string) func() {
	unlock, _ := k.lockCtx(context.Background(), key)
	return unlock
}

// lockCtx is lock that stops waiting when ctx ends (its error; nothing
// held): a caller that has gone away does not queue behind a long holder,
// such as a snapshot's seal.
func (k *keyedMutex) lockCtx(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{token: make(chan struct{}, 1)}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.token <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	return func() {
		<-e.token
		release()
	}, nil
}
