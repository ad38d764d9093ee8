package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// snapshotSamples is how many checkpoints and restores each side times.
const snapshotSamples = 3

// forkCount is how many containers the fork row restores from one snapshot.
const forkCount = 10

// preparedArgs is the snapshot figure's workload: its preparation touches
// 100 MiB of incompressible memory (50 MiB in each of /tmp and /dev/shm,
// both tmpfs in the sandbox's memory), then it waits.
var preparedArgs = []string{"/bin/sh", "-c", "head -c 52428800 /dev/urandom > /tmp/a && head -c 52428800 /dev/urandom > /dev/shm/b && echo ready > /tmp/ready; while :; do sleep 1; done"}

var readyArgs = []string{"/bin/cat", "/tmp/ready"}

// waitReady polls until the container's preparation is done.
func (e *env) waitReady(ctx context.Context, id string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		res, err := e.c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: id, Args: readyArgs})
		if err == nil && res.GetExitCode() == 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("container %s did not get ready", id)
}

// coldPrepared creates and starts the workload and waits until it is
// prepared: what a restore saves.
func (e *env) coldPrepared(ctx context.Context) (string, time.Duration, error) {
	start := time.Now()
	ct, err := e.c.Create(ctx, &nucleusv1.ContainerSpec{Args: preparedArgs, NoTimeout: true})
	if err != nil {
		return "", 0, err
	}
	if _, err := e.c.Start(ctx, ct.GetId()); err != nil {
		return ct.GetId(), 0, err
	}
	err = e.waitReady(ctx, ct.GetId())
	return ct.GetId(), time.Since(start), err
}

// rawReady polls `runsc exec` until the raw container is prepared.
func (e *env) rawReady(ctx context.Context, id string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := e.raw.exec(ctx, id, readyArgs...); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("raw container %s did not get ready", id)
}

// rawSnapshotOptions are the runsc options the figure compares.
type rawSnapshotOptions struct {
	flate      bool // checkpoint --compression=flate-best-speed (restore cannot then load in the background)
	foreground bool // restore without --background
}

// rawCheckpointRestore times raw `runsc checkpoint --leave-running` of a
// prepared raw sandbox into dir, and `runsc create` + `runsc restore` of
// a new container from it; the restored one is discarded.
func (e *env) rawCheckpointRestore(ctx context.Context, id, dir string, o rawSnapshotOptions) (ckpt, restore time.Duration, err error) {
	args := []string{"checkpoint", "--image-path=" + dir, "--leave-running"}
	if o.flate {
		args = append(args, "--compression=flate-best-speed")
	}
	if ckpt, err = timed(e.raw.command(ctx, e.raw.root, append(args, id)...)); err != nil {
		return 0, 0, fmt.Errorf("raw checkpoint: %w", err)
	}
	rid, bdir, err := e.raw.prepare(preparedArgs)
	if err != nil {
		return 0, 0, err
	}
	defer e.raw.discard(rid)
	start := time.Now()
	if _, err = timed(e.raw.command(ctx, e.raw.root, "create", "--bundle="+bdir, rid)); err == nil {
		rargs := []string{"restore", "--image-path=" + dir, "--detach"}
		if !o.foreground {
			rargs = append(rargs, "--background")
		}
		_, err = timed(e.raw.command(ctx, e.raw.root, append(rargs, rid)...))
	}
	if err != nil {
		return 0, 0, fmt.Errorf("raw restore: %w", err)
	}
	return ckpt, time.Since(start), nil
}

// snapshotsFigure: checkpoint and restore of a sandbox with 100 MiB of
// touched memory against raw runsc in the same run, a restore against a
// cold run of the same preparation, and a fork of 10.
func snapshotsFigure(ctx context.Context, e *env) ([]*Figure, error) {
	f := &Figure{Key: "8 snapshots", Title: "Checkpoint and restore of a sandbox with 100 MiB of touched memory (Go client; raw: runsc checkpoint --leave-running, runsc create + restore --background)"}
	src, coldOne, err := e.coldPrepared(ctx)
	if err != nil {
		return nil, err
	}
	rid, _, err := e.raw.startDetached(ctx, preparedArgs)
	if err != nil {
		return nil, err
	}
	defer e.raw.discard(rid)
	if err := e.rawReady(ctx, rid); err != nil {
		return nil, err
	}
	var oursC, rawC, oursR, rawR, seals []time.Duration
	var optC, optR [2][]time.Duration // raw with a foreground restore; raw with flate compression
	cold := []time.Duration{coldOne}
	var size int64
	var snapID string
	for i := range snapshotSamples {
		dir := filepath.Join(e.base, fmt.Sprintf("raw-image-%d", i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		c, r, err := e.rawCheckpointRestore(ctx, rid, dir, rawSnapshotOptions{})
		_ = os.RemoveAll(dir)
		if err != nil {
			return nil, err
		}
		rawC, rawR = append(rawC, c), append(rawR, r)
		for j, o := range []rawSnapshotOptions{{foreground: true}, {flate: true}} {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return nil, err
			}
			c, r, err := e.rawCheckpointRestore(ctx, rid, dir, o)
			_ = os.RemoveAll(dir)
			if err != nil {
				return nil, err
			}
			optC[j], optR[j] = append(optC[j], c), append(optR[j], r)
		}
		start := time.Now()
		snap, err := e.c.Checkpoint(ctx, src, client.CheckpointOptions{LeaveRunning: true})
		if err != nil {
			return nil, err
		}
		oursC = append(oursC, time.Since(start))
		size, snapID = snap.GetSizeBytes(), snap.GetId()
		sealed, err := e.awaitSeal(ctx, snapID)
		if err != nil {
			return nil, err
		}
		seals = append(seals, time.Since(start))
		size = sealed.GetSizeBytes()
		start = time.Now()
		cs, err := e.c.Restore(ctx, snapID, client.RestoreOptions{})
		if err != nil {
			return nil, err
		}
		oursR = append(oursR, time.Since(start))
		if i < snapshotSamples-1 {
			if err := e.c.RemoveSnapshot(ctx, snapID); err != nil {
				return nil, err
			}
		}
		if _, err := e.c.Delete(ctx, cs[0].GetId(), true); err != nil {
			return nil, err
		}
		id, d, err := e.coldPrepared(ctx)
		if err != nil {
			return nil, err
		}
		cold = append(cold, d)
		if _, err := e.c.Delete(ctx, id, true); err != nil {
			return nil, err
		}
	}
	rc, rr := timeRow("raw runsc checkpoint --leave-running", rawC), timeRow("raw runsc create + restore --background", rawR)
	cr := timeRow("cold run of the preparation (create, start, 100 MiB touched)", cold)
	f.Rows = append(f.Rows, rc, timeRow("Checkpoint, leave running", oursC).against(rc).target("ratio <= 1.10", ratio(summarize(oursC).Median, rc.Median) <= 1.10))
	f.Rows = append(f.Rows, timeRow("Checkpoint until sealed (durable, digested; the seal runs after the answer)", seals).against(rc))
	f.Rows = append(f.Rows, rr, timeRow("Restore (one container, started)", oursR).against(rr).target("ratio <= 1.0", ratio(summarize(oursR).Median, rr.Median) <= 1.0))
	f.Rows = append(f.Rows, cr, timeRow("Restore vs a cold run", oursR).against(cr).target("ratio <= 0.5", ratio(summarize(oursR).Median, cr.Median) <= 0.5))
	f.Rows = append(f.Rows, valueRow("snapshot size", "MiB", float64(size)/(1<<20)))
	f.Rows = append(f.Rows,
		timeRow("options: raw restore without --background", optR[0]).against(rr),
		timeRow("options: raw checkpoint --compression=flate-best-speed", optC[1]).against(rc),
		timeRow("options: raw restore of the flate image", optR[1]).against(rr))

	start := time.Now()
	forks, err := e.c.Restore(ctx, snapID, client.RestoreOptions{Count: forkCount})
	if err != nil {
		return []*Figure{f}, err
	}
	f.Rows = append(f.Rows, timeRow(fmt.Sprintf("fork of %d from one snapshot (one Restore, count %d)", forkCount, forkCount), []time.Duration{time.Since(start)}))
	mem, err := measureMem(procsMentioning(e.base, e.daemonPid()))
	if err == nil {
		var total float64
		for _, ct := range forks {
			id := ct.GetId()
			for k, kib := range mem[id] {
				if slices.Contains([]string{"sandbox", "gofer", "supervisor"}, k) {
					total += float64(kib) / 1024
				}
			}
		}
		f.Rows = append(f.Rows, valueRow(fmt.Sprintf("memory of the %d forks (PSS: sandbox, gofer, supervisor)", forkCount), "MiB", total))
	}
	f.Notes = append(f.Notes, "compression none; forks are restored 4 at a time")
	for _, ct := range append(forks, &nucleusv1.Container{Id: src}) {
		if _, err := e.c.Delete(ctx, ct.GetId(), true); err != nil {
			return []*Figure{f}, err
		}
	}
	return []*Figure{f}, e.c.RemoveSnapshot(ctx, snapID)
}

// awaitSeal polls snapshot id until its background seal ended.
func (e *env) awaitSeal(ctx context.Context, id string) (*nucleusv1.Snapshot, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		s, err := e.c.GetSnapshot(ctx, id)
		switch {
		case err != nil:
			return nil, err
		case s.GetSealError() != "":
			return nil, fmt.Errorf("snapshot %s: %s", id, s.GetSealError())
		case !s.GetSealing():
			return s, nil
		case time.Now().After(deadline):
			return nil, fmt.Errorf("snapshot %s still sealing after a minute", id)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
