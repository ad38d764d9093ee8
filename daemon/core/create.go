package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/hooks"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/identifiers"
	"nucleus.dev/nucleus/sandbox"
	"nucleus.dev/nucleus/sandbox/netns"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// createPlan is a validated create request: everything decided before the
// host is touched.
type createPlan struct {
	id, name, network, hookSet string
	runscNetwork               string      // runsc --network: none, sandbox or host
	egress                     *egressPlan // network "egress" only
	netnsPath                  string      // the egress network's namespace, once attached, or the joined one
	joinedNetNS                string      // spec.network_namespace, resolved (see planJoinedNetNS)
	pod                        string      // spec.pod, resolved: the id of the pod's first container
	timeout                    time.Duration
	req                        *bundle.Request
	pol                        *bundle.Policy
	paths                      sandbox.Paths
	// defaultUserns: the request set no user namespace and the daemon
	// gives the container a range of its own (see usernsRanges).
	defaultUserns bool
	helperDir     string // see Options.FileHelperDir
}

// plan validates spec for caller and decides every value; it changes
// nothing on the host.
func (d *Daemon) plan(caller auth.Identity, spec *nucleusv1.ContainerSpec, img *bundle.ImageRoot) (*createPlan, error) {
	if spec == nil {
		return nil, errdefs.InvalidArgument("a container spec is required")
	}
	if max := int(d.cfg.Limits.MaxRequestBytes); max > 0 && proto.Size(spec) > max {
		return nil, errdefs.ResourceExhausted("the container spec is %d bytes; at most %d are accepted (limits.max_request_bytes)", proto.Size(spec), max)
	}
	if len(spec.GetHookPaths()) > 0 {
		return nil, errdefs.PermissionDenied("hook_paths is refused: hooks come only from the operator's config; name a hook set with hook_set instead")
	}
	if spec.GetUserNamespace() != nil && !caller.MayUseHostPaths() {
		return nil, errdefs.PermissionDenied("user_namespace maps the sandbox onto host ids: only root on the local socket may set it; leave it unset for a range of the container's own (security.user_namespace)")
	}
	if err := d.checkDiskFloor(); err != nil {
		return nil, err
	}
	id, err := sandbox.NewID()
	if err != nil {
		return nil, fmt.Errorf("generating an id: %w", err)
	}
	p := &createPlan{id: id, name: spec.GetName(), helperDir: d.helperDir}
	if p.name == "" {
		p.name = id[:12]
	} else if err := identifiers.ValidateContainerName(p.name); err != nil {
		return nil, err
	}
	var pod *store.Container
	if spec.GetPod() != "" {
		if pod, err = d.planPod(caller, spec); err != nil {
			return nil, err
		}
		// The sandbox's network is the pod's; runsc sets up none for a
		// container added to a sandbox.
		p.pod, p.runscNetwork = pod.ID, config.NetworkNone
	} else if spec.GetNetworkNamespace() != "" {
		if p.joinedNetNS, err = d.planJoinedNetNS(caller, spec); err != nil {
			return nil, err
		}
		p.runscNetwork, p.netnsPath = config.NetworkSandbox, p.joinedNetNS
	} else if p.network, p.runscNetwork, err = d.networkMode(spec); err != nil {
		return nil, err
	} else if p.egress, err = d.planEgress(caller, spec, p.network); err != nil {
		return nil, err
	}
	if p.hookSet, err = d.hooks.Resolve(spec.GetHookSet()); err != nil {
		return nil, err
	}
	if p.timeout, err = d.timeout(spec); err != nil {
		return nil, err
	}
	if p.req, err = d.bundleRequest(spec); err != nil {
		return nil, err
	}
	p.req.Image = img
	if err := d.checkCeilings(caller, p.req, p.timeout); err != nil {
		return nil, err
	}
	if pod != nil {
		p.req.Pod = pod.RunscID
		if un := pod.Spec.GetUserNamespace(); un != nil {
			// One sandbox, one user namespace: the pod's range (bundle.Build
			// below refuses a user it does not map).
			p.req.UserNamespace = bundleUserNamespace(un)
		}
	} else if spec.GetUserNamespace() == nil && d.cfg.Security.UserNamespace {
		u := spec.GetUser()
		for _, id := range append([]uint32{u.GetUid(), u.GetGid()}, u.GetAdditionalGids()...) {
			if id >= d.cfg.Security.UsernsSize {
				return nil, errdefs.InvalidArgument("user: id %d is outside the sandbox's user namespace (ids 0-%d, security.userns_size)", id, d.cfg.Security.UsernsSize-1)
			}
		}
		// Checked with the first range; Create picks the range it holds.
		p.defaultUserns = true
		p.req.UserNamespace = bundleUserNamespace(usernsMapping(d.cfg.Security, 0))
	}
	p.pol = d.bundlePolicy(caller)
	p.paths = d.sb.Paths(id)
	if _, err := bundle.Build(id, p.req, p.pol, p.bundlePaths()); err != nil {
		return nil, err
	}
	return p, nil
}

// timeout is the container's maximum runtime, 0 for none: spec.timeout
// when positive, none with spec.no_timeout, else the daemon's default.
func (d *Daemon) timeout(spec *nucleusv1.ContainerSpec) (time.Duration, error) {
	t := spec.GetTimeout()
	if t != nil && (t.CheckValid() != nil || t.AsDuration() < 0) {
		return 0, errdefs.InvalidArgument("timeout must be a positive duration, or zero for the daemon's default")
	}
	switch {
	case t.AsDuration() > 0 && spec.GetNoTimeout():
		return 0, errdefs.InvalidArgument("timeout %s and no_timeout contradict each other; give one", t.AsDuration())
	case t.AsDuration() > 0:
		return t.AsDuration(), nil
	case spec.GetNoTimeout():
		return 0, nil
	}
	return d.cfg.Defaults.Timeout.Std(), nil
}

// bundlePaths are where the bundle package puts this container's files; a
// container on runsc's own network stack joins a namespace the daemon
// prepares (see sandbox/netns).
func (p *createPlan) bundlePaths() bundle.Paths {
	bp := bundle.Paths{BundleDir: p.paths.Bundle, SecretsDir: p.paths.Secrets, HelperDir: p.helperDir}
	switch {
	case p.netnsPath != "":
		bp.NetNS = p.netnsPath
	case p.runscNetwork == config.NetworkSandbox:
		bp.NetNS = p.paths.NetNS
	}
	return bp
}

func (d *Daemon) bundlePolicy(caller auth.Identity) *bundle.Policy {
	pol := &bundle.Policy{
		AllowedHostPaths: d.cfg.Security.AllowedHostPaths,
		DeniedHostPaths:  []string{d.rootDir, d.stateDir},
		AllowHostPaths:   caller.MayUseHostPaths(),
		HostPidsLimit:    d.cfg.Security.HostPidsLimit,
		TmpSizeBytes:     int64(d.cfg.Defaults.TmpSize),
		ShmSizeBytes:     int64(d.cfg.Defaults.ShmSize),
		OCISeccomp:       slices.Contains(d.cfg.Runsc.ExtraFlags, "--oci-seccomp") || slices.Contains(d.cfg.Runsc.ExtraFlags, "--oci-seccomp=true"),
	}
	d.policyCeilings(caller, pol)
	return pol
}

// CreateOptions are per-call choices that are not part of the spec.
type CreateOptions struct {
	// Start starts the container as part of the create (Run).
	Start bool
	// Attached marks a run whose caller streams the output and removes an
	// auto_remove container itself once the output is drained.
	Attached bool
	// Restore makes the start a restore from a checkpoint image of the
	// snapshot RestoredFrom (see Restore).
	Restore      *runsc.RestoreOptions
	RestoredFrom string
	// UserNamespace, set by Restore only, gives the container this
	// daemon-range mapping instead of a new range: gVisor restores a
	// checkpoint only into the same id mappings.
	UserNamespace *nucleusv1.UserNamespace
}

// Create validates spec, records the container, writes its bundle, creates
// the sandbox under a supervisor and runs the createRuntime hooks. Any
// failure undoes every step: no record, bundle, runsc state or mount is
// left. With o.Start the container is also started.
func (d *Daemon) Create(ctx context.Context, caller auth.Identity, spec *nucleusv1.ContainerSpec, o CreateOptions) (_ *nucleusv1.Container, err error) {
	start := time.Now()
	defer func() { d.metrics.ObserveLifecycle("create", time.Since(start), err) }()
	spec, img, releaseImage, err := d.createImage(ctx, caller, spec, o.Restore != nil)
	if err != nil {
		return nil, err
	}
	defer releaseImage()
	p, err := d.plan(caller, spec, img)
	if err != nil {
		return nil, err
	}
	if o.Restore != nil && p.pod != "" {
		return nil, errdefs.InvalidArgument("pod: a restored container gets a sandbox of its own")
	}
	if o.UserNamespace != nil {
		p.defaultUserns = false
		p.req.UserNamespace = bundleUserNamespace(o.UserNamespace)
		spec = proto.CloneOf(spec)
		spec.UserNamespace = o.UserNamespace
	}
	if p.pod != "" && spec.GetPod() != p.pod {
		// The stored spec names the pod by id, whatever name was given.
		spec = proto.CloneOf(spec)
		spec.Pod = p.pod
	}
	if p.timeout > 0 && spec.GetTimeout().AsDuration() != p.timeout {
		// The stored spec says which timeout applies (the daemon's
		// default when the caller set none or zero).
		spec = proto.CloneOf(spec)
		spec.Timeout = durationpb.New(p.timeout)
	}
	rec := &store.Container{
		ID: p.id, Name: p.name, OwnerUID: uint32(caller.UID), State: nucleusv1.ContainerState_CONTAINER_STATE_CREATING,
		Spec: spec, HookSet: p.hookSet, CreatedAt: time.Now().UTC(), Labels: spec.GetLabels(),
		BundleDir: p.paths.Bundle, RunscID: p.id, RunscVersion: d.runscVersion,
		CreateStep: store.StepReserved, AutoRemove: spec.GetAutoRemove(), Timeout: p.timeout,
		RestoredFrom: o.RestoredFrom,
	}
	if err := d.storeNew(p, rec); err != nil {
		return nil, d.nameInUse(caller, rec.Name, err)
	}
	releaseImage() // the record now holds the image (ImageUsage)
	unlock := d.locks.lock(p.id)
	defer unlock()
	if o.Attached {
		d.markAttached(p.id, 1)
		defer func() {
			if err != nil {
				d.markAttached(p.id, -1)
			}
		}()
	}
	// The create survives a cancelled caller: undoing half of it is worse.
	cctx := context.WithoutCancel(ctx)
	defer func() {
		if err != nil {
			d.undoCreate(p.id, err)
		}
	}()
	if p.egress != nil {
		if err := d.attachNetwork(cctx, p, rec); err != nil {
			return nil, err
		}
	} else if p.runscNetwork == config.NetworkSandbox && !p.joinsNetNS() {
		if err := netns.Create(p.paths.NetNS); err != nil {
			return nil, err
		}
	}
	// The container's own directory (meta.json, exit.json, logs); its
	// bundle is in the state directory (sandbox.Paths).
	if err := mkdirMode(p.paths.Container, 0o700); err != nil {
		return nil, err
	}
	if _, err := bundle.Create(p.id, p.req, p.pol, p.bundlePaths()); err != nil {
		return nil, err
	}
	if err := writeMeta(p.paths.Meta, rec); err != nil {
		return nil, err
	}
	// No commit for the bundle step: whatever step a create stopped at,
	// recovery undoes all of it the same way.
	st, err := d.sb.Create(cctx, p.id, sandbox.CreateOptions{
		Network: p.runscNetwork, OpenStdin: spec.GetOpenStdin(), Timeout: p.timeout,
		Terminal: spec.GetTty(), TerminalRows: TerminalSide(spec.GetTerminalSize().GetRows()),
		TerminalCols: TerminalSide(spec.GetTerminalSize().GetCols()),
		Start:        o.Start && !d.hasHooks(p.hookSet, hooks.CreateRuntime),
		Restore:      o.Restore,
		Pod:          p.req.Pod,
	})
	if err != nil {
		return nil, d.runError("create", err)
	}
	if st.State == specs.StateRunning {
		// Created and started by one runsc process (no createRuntime hooks
		// between them): one commit for the record and both events.
		return d.createdRunning(cctx, caller, rec, st)
	}
	if rec, err = d.setStep(p.id, store.StepRunscCreated, func(c *store.Container) {
		c.Pid, c.IPAddress = st.SandboxPid, rec.IPAddress // the egress network's, attached before runsc
	}); err != nil {
		return nil, err
	}
	d.watch(p.id)
	hstart := time.Now()
	herr := d.hooks.Run(cctx, p.hookSet, hooks.CreateRuntime, d.hookState(rec, specs.StateCreated))
	if d.hasHooks(p.hookSet, hooks.CreateRuntime) {
		d.metrics.ObserveHook(string(hooks.CreateRuntime), time.Since(hstart), herr)
	}
	if herr != nil {
		d.publish(nucleusv1.EventType_EVENT_TYPE_HOOK_FAILED, rec, herr.Error(), 0, map[string]string{"phase": string(hooks.CreateRuntime)})
		return nil, fmt.Errorf("create aborted, nothing was kept: %w", asPrecondition(herr))
	}
	if rec, err = d.setStep(p.id, store.StepComplete, func(c *store.Container) {
		c.State = nucleusv1.ContainerState_CONTAINER_STATE_CREATED
	}); err != nil {
		return nil, err
	}
	d.log.Info("container created", zap.String("id", rec.ID), zap.String("name", rec.Name), zap.String("owner", caller.Principal()))
	d.publish(nucleusv1.EventType_EVENT_TYPE_CREATED, rec, "", 0, nil)
	if !o.Start {
		return toAPI(rec), nil
	}
	if st.State != specs.StateRunning {
		if st, err = d.sb.Start(cctx, p.id); err != nil {
			return nil, d.runError("start", err)
		}
	}
	return d.started(cctx, rec, st)
}

// storeNew stores the new record; with a default user namespace it first
// picks the container's id range and puts it in the stored spec (which
// holds the range) and in the bundle request.
func (d *Daemon) storeNew(p *createPlan, rec *store.Container) error {
	if !p.defaultUserns {
		return d.store.CreateContainer(rec)
	}
	return d.userns.reserve(d.store, d.cfg.Security, func(un *nucleusv1.UserNamespace) error {
		spec := proto.CloneOf(rec.Spec)
		spec.UserNamespace = un
		rec.Spec = spec
		p.req.UserNamespace = bundleUserNamespace(un)
		return d.store.CreateContainer(rec)
	})
}

// createdRunning records a container that was created and started in one
// step: create complete, running, CREATED and STARTED in one commit; then
// the exit watcher and the poststart hooks.
func (d *Daemon) createdRunning(ctx context.Context, caller auth.Identity, rec *store.Container, st sandbox.Status) (*nucleusv1.Container, error) {
	startedAt := st.StartedAt
	if startedAt.IsZero() {
		startedAt = time.Now()
	}
	evs := []*nucleusv1.Event{d.event(nucleusv1.EventType_EVENT_TYPE_CREATED, rec, "", 0, nil), d.event(nucleusv1.EventType_EVENT_TYPE_STARTED, rec, "", 0, nil)}
	rec, err := d.store.UpdateContainer(rec.ID, func(c *store.Container) error {
		c.CreateStep = store.StepComplete
		c.State = nucleusv1.ContainerState_CONTAINER_STATE_RUNNING
		c.Pid = st.SandboxPid
		c.IPAddress = rec.IPAddress // the egress network's, attached before runsc
		c.StartedAt = startedAt.UTC()
		return nil
	}, evs...)
	if err != nil {
		return nil, err
	}
	d.events.notify(evs...)
	d.watch(rec.ID)
	d.log.Info("container created and started", zap.String("id", rec.ID), zap.String("name", rec.Name), zap.String("owner", caller.Principal()))
	return d.poststart(ctx, rec)
}

// asPrecondition keeps a hook failure's message but makes it a
// FailedPrecondition unless it already has a kind.
func asPrecondition(err error) error {
	if errdefs.Kind(err) != errdefs.ErrInternal {
		return err
	}
	return fmt.Errorf("%w: %w", errdefs.ErrFailedPrecondition, err)
}

func (d *Daemon) hasHooks(set string, phase hooks.Phase) bool {
	if set == "" {
		return false
	}
	s, ok := d.cfg.Hooks.Sets[set]
	if !ok {
		return false
	}
	switch phase {
	case hooks.CreateRuntime:
		return len(s.CreateRuntime) > 0
	case hooks.Poststart:
		return len(s.Poststart) > 0
	default:
		return len(s.Poststop) > 0
	}
}

func (d *Daemon) hookState(c *store.Container, status specs.ContainerState) specs.State {
	return specs.State{
		Version: specs.Version, ID: c.ID, Status: status, Pid: c.Pid,
		Bundle: c.BundleDir, Annotations: c.Spec.GetAnnotations(),
	}
}

func (d *Daemon) setStep(id string, step store.CreateStep, fn func(*store.Container)) (*store.Container, error) {
	return d.store.UpdateContainer(id, func(c *store.Container) error {
		c.CreateStep = step
		if fn != nil {
			fn(c)
		}
		return nil
	})
}

// undoTimeout bounds undoing a create; it outlasts the supervisor's own
// bound on `runsc create` (one minute), which it may have to wait for.
const undoTimeout = 2 * time.Minute

// undoCreate removes every trace of a failed create. The record goes last,
// and only once the sandbox is gone: a supervisor still inside a long
// `runsc create` or restore makes the delete fail for a while ("still
// starting"), and a record removed then would leave its sandbox running
// with nothing to name it. Until undoTimeout the delete is retried; after
// it the record stays (CREATING) for the next start's recovery to undo.
// The first attempt is the caller's; retries continue in the background so
// that a failed create still answers at once.
func (d *Daemon) undoCreate(id string, cause error) {
	ctx, cancel := context.WithTimeout(d.ctx, undoTimeout)
	d.log.Warn("create failed; undoing it", zap.String("id", id), zap.Error(cause))
	if err := d.sb.Delete(ctx, id, sandbox.DeleteOptions{Force: true}); err != nil {
		d.log.Warn("undo create: sandbox cleanup failed; retrying in the background", zap.String("id", id), zap.Error(err))
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer cancel()
			if err := d.deleteSandboxRetrying(ctx, id); err != nil {
				d.log.Error("undo create: the sandbox cannot be removed; its record stays for the next recovery", zap.String("id", id), zap.Error(err))
				return
			}
			d.finishUndo(ctx, id)
		}()
		return
	}
	defer cancel()
	d.finishUndo(ctx, id)
}

// finishUndo removes what an undone create leaves once its sandbox is gone.
func (d *Daemon) finishUndo(ctx context.Context, id string) {
	d.detachNetwork(ctx, id)
	if err := d.store.DeleteContainer(id); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		d.log.Error("undo create: record", zap.String("id", id), zap.Error(err))
	}
	d.forgetWatch(id)
}

// deleteSandboxRetrying force-deletes id's sandbox again, after a growing
// pause (up to 2 s) each time, until it succeeds or ctx ends.
func (d *Daemon) deleteSandboxRetrying(ctx context.Context, id string) error {
	pause := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		err := d.sb.Delete(ctx, id, sandbox.DeleteOptions{Force: true})
		if err == nil {
			return nil
		}
		d.log.Info("undo create: sandbox cleanup failed again", zap.String("id", id), zap.Error(err))
		pause = min(2*pause, 2*time.Second)
	}
}

// runError classifies a failure of runsc create/start for the caller: a
// command that does not exist or cannot run is the caller's to fix.
func (d *Daemon) runError(op string, err error) error {
	if runsc.CommandFailure(err) != 0 {
		return fmt.Errorf("%w: the command cannot be run: %w", errdefs.ErrInvalidArgument, err)
	}
	d.metrics.RunscError(op)
	if errdefs.Kind(err) != errdefs.ErrInternal {
		return err
	}
	return fmt.Errorf("runsc %s failed: %w", op, err)
}

// mkdirMode creates dir with exactly mode (whatever the umask).
func mkdirMode(dir string, mode os.FileMode) error {
	if err := os.Mkdir(dir, mode); err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}
