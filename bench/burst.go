package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// burst runs n copies of fn at once and returns the wall time until all
// are done and each one's own time.
func burst(ctx context.Context, n int, fn func(context.Context, int) (time.Duration, error)) (time.Duration, []time.Duration, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	per := make([]time.Duration, n)
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			d, err := fn(ctx, i)
			per[i] = d
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	return time.Since(start), per, first
}

// burstFigure is figure 3: n concurrent runs of /bin/true, alternating
// bursts of raw runsc and of nucleusd.
func burstFigure(ctx context.Context, e *env) ([]*Figure, error) {
	n := e.cfg.burstN
	type side struct {
		name  string
		walls []time.Duration
		per   []time.Duration
		cpu   []time.Duration // per run: the round's cpuacct usage / n
		round func(context.Context) (time.Duration, []time.Duration, error)
	}
	rawRound := func(ctx context.Context) (time.Duration, []time.Duration, error) {
		ids := make([]string, n)
		dirs := make([]string, n)
		for i := range n {
			id, dir, err := e.raw.prepare(trueArgs)
			if err != nil {
				return 0, nil, err
			}
			ids[i], dirs[i] = id, dir
		}
		wall, per, err := burst(ctx, n, func(ctx context.Context, i int) (time.Duration, error) { return e.raw.run(ctx, ids[i], dirs[i]) })
		// runsc run deleted each container that ran; only bundles are left.
		clean := e.raw.removeBundle
		if err != nil {
			clean = e.raw.discard
		}
		_ = forEach(ids, 4, func(id string) error { clean(id); return nil })
		return wall, per, err
	}
	sides := []*side{
		{name: "raw runsc run", round: rawRound},
		{name: "Go client Run", round: func(ctx context.Context) (time.Duration, []time.Duration, error) {
			return burst(ctx, n, func(ctx context.Context, _ int) (time.Duration, error) { return e.clientRun(ctx, trueArgs) })
		}},
	}
	if e.cfg.cliOK {
		sides = append(sides, &side{name: "nucleusctl run --rm", round: func(ctx context.Context) (time.Duration, []time.Duration, error) {
			return burst(ctx, n, func(ctx context.Context, _ int) (time.Duration, error) { return e.cli(ctx, "run", "--rm", "/bin/true") })
		}})
	}
	for r := range e.cfg.burstRounds {
		for k := range sides {
			s := sides[(k+r)%len(sides)]
			u := e.cpu.usage()
			wall, per, err := s.round(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s burst: %w", s.name, err)
			}
			s.cpu = append(s.cpu, (e.cpu.usage()-u)/time.Duration(n))
			s.walls = append(s.walls, wall)
			s.per = append(s.per, per...)
			time.Sleep(time.Second) // let the last sandboxes' teardown settle
		}
	}
	f := &Figure{Key: fmt.Sprintf("3 burst %d", n), Title: fmt.Sprintf("%d concurrent runs of /bin/true: wall time to all done, and per run", n)}
	base := timeRow(sides[0].name+" (wall)", sides[0].walls)
	f.Rows = append(f.Rows, base)
	for _, s := range sides[1:] {
		r := timeRow(s.name+" (wall)", s.walls).against(base)
		f.Rows = append(f.Rows, r.target("ratio <= 1.10", r.Ratio <= 1.10))
	}
	pbase := timeRow(sides[0].name+" (per run)", sides[0].per)
	f.Rows = append(f.Rows, pbase)
	for _, s := range sides[1:] {
		f.Rows = append(f.Rows, timeRow(s.name+" (per run)", s.per).against(pbase))
	}
	if e.cpu != nil {
		cbase := msRow(sides[0].name+" (CPU outside the sandbox per run)", sides[0].cpu)
		f.Rows = append(f.Rows, cbase)
		for _, s := range sides[1:] {
			f.Rows = append(f.Rows, msRow(s.name+" (CPU outside the sandbox per run)", s.cpu).against(cbase))
		}
	}
	return []*Figure{f}, nil
}
