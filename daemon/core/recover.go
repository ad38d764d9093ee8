package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// recover reconciles the store with the supervisors, the container
// directories and runsc's state: running containers are adopted,
// containers that exited while the daemon was down get their exit status
// and poststop hooks, half-done creates are undone, and orphans are
// rebuilt (when the store was lost) or cleaned. One bad entry is logged,
// never fatal.
func (d *Daemon) recover(ctx context.Context, recs []*store.Container) {
	known := map[string]bool{}
	for _, c := range recs {
		known[c.ID] = true
	}
	d.recoverAll(ctx, recs)
	d.reconcileNetwork(ctx, recs)
	info := d.store.Info()
	rebuild := info.Rebuilt || info.Created
	// Containers with a record are not looked at again: the undo of an
	// interrupted create may be deleting them right now.
	for _, st := range d.sb.Recover(ctx, known) {
		known[st.ID] = true
		if rebuild {
			if err := d.rebuild(ctx, st); err == nil {
				continue
			} else {
				d.log.Warn("recovery: cannot rebuild the record; cleaning the container up", zap.String("id", st.ID), zap.Error(err))
			}
		}
		d.log.Warn("recovery: removing an orphaned container (no record)", zap.String("id", st.ID), zap.String("state", string(st.State)))
		if err := d.sb.Delete(ctx, st.ID, sandbox.DeleteOptions{Force: true}); err != nil {
			d.log.Error("recovery: orphan cleanup", zap.String("id", st.ID), zap.Error(err))
		}
	}
	d.removeStaleRunscLocks(known)
	ids, err := d.sb.Runsc().ListIDs(ctx)
	if err != nil {
		d.log.Warn("recovery: runsc list", zap.Error(err))
		return
	}
	for _, id := range ids {
		if known[id] {
			continue
		}
		d.log.Warn("recovery: removing orphaned runsc state", zap.String("runsc_id", id))
		if err := d.sb.Delete(ctx, id, sandbox.DeleteOptions{Force: true}); err != nil {
			if derr := d.sb.Runsc().Delete(ctx, id, true); derr != nil {
				d.log.Error("recovery: runsc delete", zap.String("runsc_id", id), zap.Error(errors.Join(err, derr)))
			}
		}
	}
}

// supervisorAnswerTimeout bounds how long recovery waits for one
// supervisor's status.
const supervisorAnswerTimeout = 5 * time.Second

// recoverWorkers bounds how many containers recovery looks at at once:
// each asks its supervisor (and runsc) over a socket, so most of the time
// is waiting, not CPU.
const recoverWorkers = 16

// recoverAll runs recoverOne for every record, recoverWorkers at a time.
func (d *Daemon) recoverAll(ctx context.Context, recs []*store.Container) {
	next := make(chan *store.Container)
	var wg sync.WaitGroup
	for range min(recoverWorkers, len(recs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				if err := d.recoverOne(ctx, c); err != nil {
					d.log.Error("recovery: container left as recorded", zap.String("id", c.ID), zap.Error(err))
				}
			}
		}()
	}
	for _, c := range recs {
		next <- c
	}
	close(next)
	wg.Wait()
}

func (d *Daemon) recoverOne(ctx context.Context, c *store.Container) error {
	if c.CreateStep != store.StepComplete && c.State == nucleusv1.ContainerState_CONTAINER_STATE_CREATING {
		// In the background: its supervisor may still be inside `runsc
		// create`, and the daemon must not wait for that to serve.
		d.log.Warn("recovery: undoing a create that nucleusd did not finish", zap.String("id", c.ID), zap.String("step", string(c.CreateStep)))
		// Its name is free before the socket accepts calls: a client
		// that retries the create at once gets it, while the undo
		// below takes its time.
		if name, err := d.store.ReleaseName(c.ID); err != nil {
			d.log.Error("recovery: releasing the name of an interrupted create", zap.String("id", c.ID), zap.Error(err))
		} else if name != "" {
			d.log.Info("recovery: released the name of an interrupted create", zap.String("id", c.ID), zap.String("name", name))
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.undoCreate(c.ID, fmt.Errorf("nucleusd stopped during create (step %s)", c.CreateStep))
		}()
		return nil
	}
	switch c.State {
	case stateRunning, statePaused:
		if d.sb.Alive(c.ID) {
			// Its supervisor runs and wrote no exit: adopted as recorded,
			// without a round trip to each of (up to) a thousand
			// supervisors before the daemon serves; its watcher asks it
			// in the background and records the exit whenever it comes.
			d.log.Info("recovery: adopted a live container", zap.String("id", c.ID), zap.String("state", stateName(c.State)))
			d.watch(c.ID)
			return nil
		}
		fallthrough
	case stateCreated:
		sctx, cancel := context.WithTimeout(ctx, supervisorAnswerTimeout)
		st, err := d.sb.SupervisedStatus(sctx, c.ID)
		cancel()
		if errors.Is(err, errdefs.ErrDeadlineExceeded) || (err != nil && sctx.Err() != nil && ctx.Err() == nil) {
			// A stopped or stuck supervisor must not hold recovery (and
			// every call waiting for it) forever: its container stays as
			// recorded and is watched; its exit is recorded whenever the
			// supervisor answers again.
			d.log.Warn("recovery: supervisor does not answer; watching it without its status", zap.String("id", c.ID), zap.Duration("waited", supervisorAnswerTimeout), zap.Error(err))
			d.watch(c.ID)
			return nil
		}
		if errors.Is(err, errdefs.ErrNotFound) {
			d.recordLater(c.ID, sandbox.ExitStatus{ExitCode: -1, Reason: "lost", Message: "the sandbox and its supervisor were gone when nucleusd restarted"})
			return nil
		}
		if err != nil {
			return err
		}
		if st.Exit != nil {
			d.log.Info("recovery: container exited while nucleusd was down", zap.String("id", c.ID), zap.Int("exit_code", st.Exit.ExitCode))
			d.recordLater(c.ID, *st.Exit)
			return nil
		}
		if c.State == stateCreated && st.State == specs.StateRunning {
			if _, err := d.started(ctx, c, st); err != nil {
				return err
			}
		}
		d.log.Info("recovery: adopted a live container", zap.String("id", c.ID), zap.String("state", string(st.State)))
		d.watch(c.ID)
	case stateExited:
		if !c.PoststopDone || c.AutoRemove {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.poststop(c)
				if c.AutoRemove {
					d.autoRemove(c.ID)
				}
			}()
		}
	}
	return nil
}

// rebuild recreates a lost record from the container's meta.json and its
// supervisor's status.
func (d *Daemon) rebuild(ctx context.Context, st sandbox.Status) error {
	p := d.sb.Paths(st.ID)
	c, err := readMeta(p.Meta)
	if err != nil {
		return err
	}
	c.BundleDir, c.RunscVersion, c.CreateStep = p.Bundle, d.runscVersion, store.StepComplete
	c.Pid, c.StartedAt = st.SandboxPid, st.StartedAt
	c.State = stateCreated
	if st.State == specs.StateRunning {
		c.State = stateRunning
	}
	if st.Exit != nil {
		c.State, c.FinishedAt = stateExited, st.Exit.FinishedAt
		c.Exit = &store.Exit{Code: int32(st.Exit.ExitCode), Signal: int32(st.Exit.Signal), OOMKilled: st.Exit.OOMKilled, Reason: st.Exit.Reason, Message: st.Exit.Message}
		c.PoststopDone = true // unknown: never run poststop twice
	}
	if err := d.store.CreateContainer(c); err != nil {
		return err
	}
	d.log.Warn("recovery: rebuilt a lost record", zap.String("id", c.ID), zap.String("name", c.Name), zap.String("state", stateName(c.State)))
	if live(c.State) {
		d.watch(c.ID)
	}
	return nil
}

// janitorInterval is how often the janitor sweeps runsc's root.
const janitorInterval = 5 * time.Second

// janitor sweeps, while the daemon runs, what a runsc process that outlived
// an interrupted create can leave after its container was undone: runsc's
// lock file for an id no record knows.
func (d *Daemon) janitor() {
	defer d.wg.Done()
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		recs, err := d.store.ViewContainers(nil)
		if err != nil {
			continue
		}
		known := map[string]bool{}
		for _, c := range recs {
			known[c.ID] = true
		}
		d.removeStaleRunscLocks(known)
	}
}

// removeStaleRunscLocks removes the lock files runsc leaves in its root for
// containers it never wrote a state for (a create interrupted early), when
// no record knows them.
func (d *Daemon) removeStaleRunscLocks(known map[string]bool) {
	root := d.sb.Runsc().Root
	locks, _ := filepath.Glob(filepath.Join(root, "*_sandbox:*.lock"))
	for _, l := range locks {
		id, _, _ := strings.Cut(filepath.Base(l), "_sandbox:")
		state := strings.TrimSuffix(l, ".lock") + ".state"
		if known[id] || exists(state) || d.cleanups.has(id) {
			continue
		}
		if err := os.Remove(l); err == nil {
			d.log.Warn("recovery: removed a stale runsc lock", zap.String("runsc_id", id))
		}
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
