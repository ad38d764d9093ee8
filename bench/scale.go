package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// scaleFigure is the control plane at scale (issue 16's rows): one stats
// sample of N running sandboxes through the API and `nucleusctl stats
// --no-stream`, against `runsc events --stats` run over the same N
// sandboxes one after another; then kill -9 of nucleusd and the time until
// a restarted nucleusd answers a read and until it serves every call.
func scaleFigure(ctx context.Context, e *env) ([]*Figure, error) {
	n := e.cfg.scaleN
	restorePidMax, err := raisePidMax(n)
	if err != nil {
		return nil, err
	}
	defer restorePidMax()
	ids := make([]string, 0, n)
	var mu sync.Mutex
	up := time.Now()
	err = forEach(make([]struct{}, n), 8, func(struct{}) error {
		id, _, err := e.runSleeper(ctx)
		if id != "" {
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	upTook := time.Since(up)
	time.Sleep(settle)

	api, err := ourStats(ctx, e, n)
	if err != nil {
		return nil, err
	}
	var cli []time.Duration
	for range statsSamples {
		d, err := e.cli(ctx, "stats", "--no-stream")
		if err != nil {
			return nil, err
		}
		cli = append(cli, d)
	}
	var raw []time.Duration
	for range 2 { // n runsc processes per sample: two samples are plenty
		begin := time.Now()
		for _, id := range ids {
			if _, err := timed(e.raw.command(ctx, filepath.Join(e.stateDir, "runsc"), "events", "--stats", id)); err != nil {
				return nil, fmt.Errorf("runsc events on nucleusd's sandbox %s: %w", id, err)
			}
		}
		raw = append(raw, time.Since(begin))
	}
	stats := &Figure{Key: fmt.Sprintf("10 stats at %d", n), Title: fmt.Sprintf("One stats sample of %d running sandboxes (raw: runsc events --stats over the same sandboxes, one after another)", n)}
	base := timeRow(fmt.Sprintf("raw runsc events --stats x %d", n), raw)
	cliRow := timeRow("nucleusctl stats --no-stream", cli).against(base)
	if n <= 200 { // issue 16's target is for 200 containers
		cliRow = cliRow.target("< 300 ms", cliRow.Median < 0.3)
	}
	stats.Rows = append(stats.Rows, base,
		timeRow("Go client Stats, one sample", api).against(base), cliRow)
	stats.Notes = append(stats.Notes, fmt.Sprintf("bringing %d up, 8 at a time: %.1f s", n, upTook.Seconds()))

	restart, err := restartFigure(ctx, e, n)
	figs := []*Figure{stats}
	if restart != nil {
		figs = append(figs, restart)
	}
	if err != nil {
		return figs, err
	}
	return figs, forEach(ids, 8, func(id string) error { _, err := e.c.Delete(ctx, id, true); return err })
}

// restartFigure kills nucleusd with n containers running and times its
// restart: until it answers a read (Version) and until it serves every
// call (health SERVING: recovery done), three times.
func restartFigure(ctx context.Context, e *env, n int) (*Figure, error) {
	var first, serving []time.Duration
	for range 3 {
		if err := e.daemon.Process.Signal(syscall.SIGKILL); err != nil {
			return nil, err
		}
		<-e.daemonDone
		_ = e.c.Close()
		begin := time.Now()
		if err := e.startDaemon(ctx); err != nil {
			return nil, err
		}
		first = append(first, time.Since(begin))
		for {
			ok, err := e.c.Serving(ctx)
			if err == nil && ok {
				break
			}
			if time.Since(begin) > time.Minute {
				return nil, fmt.Errorf("nucleusd not serving a minute after a restart with %d containers: %v", n, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		serving = append(serving, time.Since(begin))
	}
	f := &Figure{Key: fmt.Sprintf("11 restart with %d", n), Title: fmt.Sprintf("kill -9 of nucleusd with %d running containers, then restart: until it answers a read, and until it serves every call (recovery done)", n)}
	srv := timeRow("until serving every call", serving)
	f.Rows = append(f.Rows, timeRow("until the first answer", first), srv.target("< 2 s", srv.Median < 2))
	return f, nil
}
