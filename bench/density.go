package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// settle is how long idle sandboxes are left before their memory is read.
const settle = 3 * time.Second

// densityFigures are figure 4 (memory of n idle sandboxes, nucleusd vs raw
// runsc) and, with "load" selected, figure 6 (start latency with none
// running, then with the n sandboxes running).
func densityFigures(ctx context.Context, e *env) ([]*Figure, error) {
	n := e.cfg.densityN
	var figs []*Figure
	doLoad := e.cfg.figures["load"]
	doDensity := e.cfg.figures["density"]
	load := &Figure{Key: "6 start under load", Title: fmt.Sprintf("Start latency (create+start of sleep, until running) with no sandbox and with %d idle sandboxes", n)}
	var idle [][]time.Duration
	var err error
	if doLoad {
		if idle, err = startPairs(ctx, e); err != nil {
			return nil, err
		}
	}

	// nucleusd's n sandboxes.
	ids := make([]string, n)
	var mu sync.Mutex
	var i int
	up := time.Now()
	err = forEach(make([]struct{}, n), 4, func(struct{}) error {
		id, _, err := e.runSleeper(ctx)
		mu.Lock()
		ids[i] = id
		i++
		mu.Unlock()
		return err
	})
	upTook := time.Since(up)
	if err != nil {
		return nil, err
	}
	time.Sleep(settle)
	dens := &Figure{Key: fmt.Sprintf("4 density %d", n), Title: fmt.Sprintf("Memory of %d idle sandboxes (sleep): PSS from smaps_rollup per container", n)}
	ours, err := measureMem(procsMentioning(e.base, e.daemonPid()))
	if err != nil {
		return nil, err
	}
	daemonRSS, _ := rssKiB(e.daemonPid())
	var ourSample []time.Duration
	if doDensity {
		if ourSample, err = ourStats(ctx, e, n); err != nil {
			return nil, err
		}
	}
	if len(ours) != n {
		dens.Notes = append(dens.Notes, fmt.Sprintf("found the processes of %d containers, expected %d", len(ours), n))
	}
	if doLoad {
		loaded, err := startPairs(ctx, e)
		if err != nil {
			return nil, err
		}
		load.Rows = append(load.Rows, startRows(idle, "idle")...)
		load.Rows = append(load.Rows, startRows(loaded, fmt.Sprintf("%d running", n))...)
		load.Notes = append(load.Notes, fmt.Sprintf("growth with %d running: nucleusd %.2fx, raw runsc %.2fx (median loaded / median idle)",
			n, ratio(load.Rows[3].Median, load.Rows[1].Median), ratio(load.Rows[2].Median, load.Rows[0].Median)))
		figs = append(figs, load)
	}
	if err := forEach(ids, 4, func(id string) error { _, err := e.c.Delete(ctx, id, true); return err }); err != nil {
		return figs, err
	}
	if !doDensity {
		return figs, nil
	}

	// raw runsc's n sandboxes.
	rawIDs := make([]string, 0, n)
	rup := time.Now()
	err = forEach(make([]struct{}, n), 4, func(struct{}) error {
		id, _, err := e.raw.startDetached(ctx, sleepArgs)
		mu.Lock()
		if id != "" {
			rawIDs = append(rawIDs, id)
		}
		mu.Unlock()
		return err
	})
	rupTook := time.Since(rup)
	defer func() { _ = forEach(rawIDs, 4, func(id string) error { e.raw.discard(id); return nil }) }()
	if err != nil {
		return figs, err
	}
	time.Sleep(settle)
	theirs, err := measureMem(procsMentioning(e.raw.dir, 0))
	if err != nil {
		return figs, err
	}
	rawSample, err := rawStats(ctx, e, rawIDs)
	if err != nil {
		return figs, err
	}
	figs = append(figs, statsFigure(n, ourSample, rawSample))
	base := mibRow("raw runsc: sandbox+gofer", theirs.perContainer("sandbox", "gofer"))
	dens.Rows = append(dens.Rows, base,
		mibRow("nucleusd: sandbox+gofer+supervisor", ours.perContainer("sandbox", "gofer", "supervisor")).against(base),
		mibRow("nucleusd: sandbox+gofer", ours.perContainer("sandbox", "gofer")).against(base),
	)
	sup := mibRow("nucleusd: supervisor alone", ours.perContainer("supervisor"))
	dens.Rows = append(dens.Rows, sup.target("<= 8 MiB", sup.P90 <= 8))
	dens.Rows = append(dens.Rows, valueRow(fmt.Sprintf("nucleusd daemon RSS, %d running", n), "MiB", float64(daemonRSS)/1024))
	dens.Notes = append(dens.Notes, fmt.Sprintf("bringing %d up, 4 at a time: nucleusd %.1f s, raw runsc create+start %.1f s", n, upTook.Seconds(), rupTook.Seconds()))
	return append([]*Figure{dens}, figs...), nil
}

// startPairs alternates the daemon's detached run of sleep (returns once
// running) with raw runsc create + start, deleting each untimed.
func startPairs(ctx context.Context, e *env) ([][]time.Duration, error) {
	vs := []variant{
		{"raw", func(ctx context.Context) (time.Duration, error) {
			id, d, err := e.raw.startDetached(ctx, sleepArgs)
			if id != "" {
				e.raw.discard(id)
			}
			return d, err
		}},
		{"nucleusd", func(ctx context.Context) (time.Duration, error) {
			id, d, err := e.runSleeper(ctx)
			if id != "" {
				if _, derr := e.c.Delete(ctx, id, true); derr != nil && err == nil {
					err = derr
				}
			}
			return d, err
		}},
	}
	out, _, err := alternateCPU(ctx, nil, e.cfg.loadPairs, 1, e.cfg.settle, vs)
	return out, err
}

func startRows(s [][]time.Duration, cond string) []*Row {
	base := timeRow("raw runsc create+start, "+cond, s[0])
	return []*Row{base, timeRow("Go client RunDetached, "+cond, s[1]).against(base)}
}
