package main

import (
	"context"
	"fmt"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// statsSamples is how many samples each side of the stats figure takes.
const statsSamples = 5

// ourStats times one Stats sample (stats --no-stream) over all of the
// daemon's running containers, statsSamples times.
func ourStats(ctx context.Context, e *env, n int) ([]time.Duration, error) {
	var out []time.Duration
	for range statsSamples {
		begin := time.Now()
		got := 0
		err := e.c.Stats(ctx, &nucleusv1.StatsRequest{}, func(s []*nucleusv1.ContainerStats) error {
			got = len(s)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if got != n {
			return nil, fmt.Errorf("stats sampled %d containers, want %d", got, n)
		}
		out = append(out, time.Since(begin))
	}
	return out, nil
}

// rawStats times `runsc events --stats` over each of ids, one after
// another (what a raw runsc user does for one sample of all), statsSamples
// times.
func rawStats(ctx context.Context, e *env, ids []string) ([]time.Duration, error) {
	var out []time.Duration
	for range statsSamples {
		begin := time.Now()
		for _, id := range ids {
			if _, err := timed(e.raw.command(ctx, e.raw.root, "events", "--stats", id)); err != nil {
				return nil, err
			}
		}
		out = append(out, time.Since(begin))
	}
	return out, nil
}

// statsFigure is one stats sample of n running sandboxes, against raw
// runsc's events --stats over the same number.
func statsFigure(n int, ours, theirs []time.Duration) *Figure {
	f := &Figure{Key: fmt.Sprintf("7 stats %d", n), Title: fmt.Sprintf("One stats sample of %d running sandboxes (stats --no-stream through the Go client; raw: runsc events --stats for each)", n)}
	base := timeRow(fmt.Sprintf("raw runsc events --stats x %d", n), theirs)
	f.Rows = append(f.Rows, base, timeRow("Go client Stats, one sample", ours).against(base))
	return f
}
