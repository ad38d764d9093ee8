package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/hooks"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// exitWatch is what the daemon knows of a watched container's exit.
type exitWatch struct {
	done chan struct{} // closed once the exit is recorded
	// stuck is closed when recording the exit failed at least once (the
	// watcher keeps retrying); stuckErr is that failure. Both under d.mu.
	stuck    chan struct{}
	stuckErr error
	// final is the last record of an auto_remove container whose exit
	// removed it (set before done closes), kept for the run attached to
	// it until that run ends.
	final *store.Container
}

// watch starts the goroutine that waits for id's exit and records it. One
// per container; a second call is a no-op.
func (d *Daemon) watch(id string) {
	d.watchWith(id, func() (sandbox.ExitStatus, error) { return d.sb.Wait(d.ctx, id) })
}

// recordLater records ex, an exit already known, as id's exit in the
// background, through the same retrying path as a watched exit.
func (d *Daemon) recordLater(id string, ex sandbox.ExitStatus) {
	d.watchWith(id, func() (sandbox.ExitStatus, error) { return ex, nil })
}

// watchWith starts id's watcher, which records the exit that wait returns.
func (d *Daemon) watchWith(id string, wait func() (sandbox.ExitStatus, error)) {
	d.mu.Lock()
	if _, ok := d.exited[id]; ok {
		d.mu.Unlock()
		return
	}
	w := &exitWatch{done: make(chan struct{}), stuck: make(chan struct{})}
	d.exited[id] = w
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ex, err := wait()
		if err != nil {
			if d.ctx.Err() == nil && !errors.Is(err, errdefs.ErrNotFound) {
				d.log.Error("waiting for container", zap.String("id", id), zap.Error(err))
			}
			return
		}
		if d.recordUntilDone(w, id, ex) {
			close(w.done)
		}
	}()
}

// Bounds of the pause between two attempts to record an exit.
const (
	recordRetryFirst = 100 * time.Millisecond
	recordRetryMax   = 5 * time.Second
)

// recordUntilDone records id's exit, retrying a failed commit (a full
// disk, say) until the store takes it or the daemon stops: an exit is never
// dropped, and nobody is told a container exited before its exit is
// durable. The first failure marks w stuck, so that Stop can say so. It
// reports whether the exit is recorded (false: the daemon is stopping; the
// next one reads the exit from the supervisor, which keeps it).
func (d *Daemon) recordUntilDone(w *exitWatch, id string, ex sandbox.ExitStatus) bool {
	pause := recordRetryFirst
	for attempt := 1; ; attempt++ {
		err := d.onExit(id, ex)
		if err == nil {
			if attempt > 1 {
				d.log.Info("exit recorded after retries", zap.String("id", id), zap.Int("attempts", attempt))
			}
			return true
		}
		d.mu.Lock()
		if w.stuckErr == nil {
			close(w.stuck)
		}
		w.stuckErr = err
		d.mu.Unlock()
		d.log.Error("recording exit failed; retrying", zap.String("id", id), zap.Int("exit_code", ex.ExitCode), zap.Int("attempt", attempt), zap.Error(err))
		select {
		case <-d.ctx.Done():
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, recordRetryMax)
	}
}

// exitPending says why id's exit is not recorded yet ("" when it is, or
// when it has not exited).
func (d *Daemon) exitPending(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w := d.exited[id]; w != nil && w.stuckErr != nil && !isClosed(w.done) {
		return pendingReason(w.stuckErr)
	}
	return ""
}

// pendingExits is exitPending for every container whose exit is pending.
func (d *Daemon) pendingExits() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out map[string]string
	for id, w := range d.exited {
		if w.stuckErr != nil && !isClosed(w.done) {
			if out == nil {
				out = map[string]string{}
			}
			out[id] = pendingReason(w.stuckErr)
		}
	}
	return out
}

// pendingReason is what exit_pending says for a failed attempt.
func pendingReason(err error) string {
	return "exited; recording the exit failed and is retried: " + err.Error()
}

// withExitPending sets c's exit_pending to why and returns c.
func withExitPending(c *nucleusv1.Container, why string) *nucleusv1.Container {
	c.ExitPending = why
	return c
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// exitedChan returns the channel closed once id's exit is recorded, or nil
// when nothing watches id.
func (d *Daemon) exitedChan(id string) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w := d.exited[id]; w != nil {
		return w.done
	}
	return nil
}

// lastRecord is id's record or, once its exit removed the record, the
// final one a run attached to it still holds.
func (d *Daemon) lastRecord(id string) (*store.Container, error) {
	c, err := d.store.GetContainer(id)
	if errors.Is(err, errdefs.ErrNotFound) {
		if final := d.finalRecord(id); final != nil {
			return final, nil
		}
	}
	return c, err
}

// finalRecord is the last record of id when its exit removed it and a run
// attached to it has not ended yet; else nil.
func (d *Daemon) finalRecord(id string) *store.Container {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w := d.exited[id]; w != nil {
		return w.final
	}
	return nil
}

func (d *Daemon) forgetWatch(id string) {
	d.mu.Lock()
	delete(d.exited, id)
	delete(d.attached, id)
	d.mu.Unlock()
}

func (d *Daemon) markAttached(id string, delta int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.attached[id] += delta; d.attached[id] <= 0 {
		delete(d.attached, id)
	}
}

func (d *Daemon) isAttached(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attached[id] > 0
}

// onExit records the exit, publishes it, runs the poststop hooks once and
// removes an auto_remove container (unless an attached run will). It fails
// only when the exit could not be recorded; a container whose record is
// gone has nothing to record.
func (d *Daemon) onExit(id string, ex sandbox.ExitStatus) error {
	unlock := d.locks.lock(id)
	c, removed, err := d.recordExit(id, ex)
	unlock()
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record the exit of %s: %w", id, err)
	}
	if removed {
		return nil
	}
	d.poststop(c)
	if c.AutoRemove && !d.isAttached(id) {
		d.autoRemove(id)
	}
	return nil
}

// recordExit records id's exit and its events in one commit. An
// auto_remove container without poststop hooks has nothing left to do
// after its exit: its record goes in that same commit (removed reports
// it), which is one store commit less between the exit and the answer to
// `run --rm`. The caller holds id's lock.
func (d *Daemon) recordExit(id string, ex sandbox.ExitStatus) (c *store.Container, removed bool, err error) {
	prev, err := d.store.GetContainer(id)
	if err != nil {
		return nil, false, err
	}
	if prev.State == nucleusv1.ContainerState_CONTAINER_STATE_EXITED {
		return prev, false, nil
	}
	finished := ex.FinishedAt
	if finished.IsZero() {
		finished = time.Now()
	}
	var evs []*nucleusv1.Event
	if ex.OOMKilled {
		evs = append(evs, d.event(nucleusv1.EventType_EVENT_TYPE_OOM, prev, "the sandbox went over its memory limit and was killed", int32(ex.ExitCode), nil))
	}
	if ex.StopEscalated {
		evs = append(evs, d.event(nucleusv1.EventType_EVENT_TYPE_KILLED, prev, "Stop sent SIGKILL: the grace period ran out", 0, signalAttrs(unix.SIGKILL)))
	}
	exitAttrs := map[string]string{AttrReason: ex.Reason}
	if ex.Signal != 0 {
		exitAttrs[AttrSignal] = strconv.Itoa(ex.Signal)
	}
	evs = append(evs, d.event(nucleusv1.EventType_EVENT_TYPE_EXITED, prev, ex.Message, int32(ex.ExitCode), exitAttrs))
	exited := func(r *store.Container) error {
		r.State = nucleusv1.ContainerState_CONTAINER_STATE_EXITED
		r.FinishedAt = finished.UTC()
		r.Pid = 0
		r.Exit = &store.Exit{Code: int32(ex.ExitCode), Signal: int32(ex.Signal), OOMKilled: ex.OOMKilled, Reason: ex.Reason, Message: ex.Message}
		// Without poststop hooks there is nothing left to do once: say so
		// in this same commit.
		r.PoststopDone = r.PoststopDone || !d.hasHooks(r.HookSet, hooks.Poststop)
		if r.StartedAt.IsZero() && !ex.StartedAt.IsZero() {
			r.StartedAt = ex.StartedAt.UTC()
		}
		return nil
	}
	if prev.AutoRemove && !d.hasHooks(prev.HookSet, hooks.Poststop) {
		_ = exited(prev)
		if err := d.exitRemoved(prev, evs); err != nil {
			return nil, false, err
		}
		d.logExit(id, ex)
		return prev, true, nil
	}
	c, err = d.store.UpdateContainer(id, exited, evs...)
	if err != nil {
		return nil, false, err
	}
	d.events.notify(evs...)
	d.logExit(id, ex)
	return c, false, nil
}

func (d *Daemon) logExit(id string, ex sandbox.ExitStatus) {
	d.log.Info("container exited", zap.String("id", id), zap.Int("exit_code", ex.ExitCode), zap.String("reason", ex.Reason), zap.Bool("oom_killed", ex.OOMKilled))
}

// exitRemoved removes the record of final, an auto_remove container that
// just exited, with the exit events evs (dropForCleaner). A run attached
// to it streams all its output before the host side goes, and is handed
// final, since the record is gone.
func (d *Daemon) exitRemoved(final *store.Container, evs []*nucleusv1.Event) error {
	attached := d.isAttached(final.ID)
	if err := d.dropForCleaner(final, attached, evs...); err != nil {
		return err
	}
	if attached {
		d.mu.Lock()
		if w := d.exited[final.ID]; w != nil {
			w.final = final
		}
		d.mu.Unlock()
	}
	return nil
}

// poststop runs the poststop hooks once per container, best effort.
func (d *Daemon) poststop(c *store.Container) {
	if c.PoststopDone {
		return
	}
	if d.hasHooks(c.HookSet, hooks.Poststop) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 5*time.Minute)
		hstart := time.Now()
		errs := d.hooks.RunBestEffort(ctx, c.HookSet, hooks.Poststop, d.hookState(c, specs.StateStopped))
		cancel()
		for _, herr := range errs {
			d.metrics.ObserveHook(string(hooks.Poststop), time.Since(hstart), herr)
			d.log.Warn("poststop hook failed", zap.String("id", c.ID), zap.Error(herr))
			d.publish(nucleusv1.EventType_EVENT_TYPE_HOOK_FAILED, c, herr.Error(), 0, map[string]string{"phase": string(hooks.Poststop)})
		}
		if len(errs) == 0 {
			d.metrics.ObserveHook(string(hooks.Poststop), time.Since(hstart), nil)
		}
	}
	if _, err := d.store.UpdateContainer(c.ID, func(r *store.Container) error {
		r.PoststopDone = true
		return nil
	}); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		d.log.Error("recording poststop", zap.String("id", c.ID), zap.Error(err))
	}
}
