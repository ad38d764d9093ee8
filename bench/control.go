package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// controlCalls is how many Get and List calls each checkpoint times: the
// p99 of 1000 rests on the 10 slowest calls, not on 3 as with 300.
const controlCalls = 1000

// controlFigure is figure 5: Get and List latency as exited container
// records accumulate (10 ... records), and the daemon's RSS at the end.
func controlFigure(ctx context.Context, e *env) ([]*Figure, error) {
	f := &Figure{Key: "5 control plane", Title: fmt.Sprintf("Get/List latency through the Go client with 10 to %d exited containers recorded", e.cfg.records)}
	var checkpoints []int
	for _, c := range []int{10, 50, 100, 200, 500} {
		if c < e.cfg.records {
			checkpoints = append(checkpoints, c)
		}
	}
	checkpoints = append(checkpoints, e.cfg.records)
	var ids []string
	var list10, get10 *Row
	fill := time.Now()
	for _, cp := range checkpoints {
		more := make([]string, cp-len(ids))
		err := forEach(more, 4, func(string) error {
			ex, _, err := e.c.Run(ctx, &nucleusv1.ContainerSpec{Args: trueArgs}, client.RunOptions{})
			if err == nil && ex.GetExitCode() != 0 {
				err = fmt.Errorf("exit %d", ex.GetExitCode())
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("recording containers: %w", err)
		}
		all, err := e.c.List(ctx, nil)
		if err != nil {
			return nil, err
		}
		ids = ids[:0]
		for _, c := range all {
			ids = append(ids, c.GetId())
		}
		if len(ids) != cp {
			return nil, fmt.Errorf("list returned %d containers, expected %d", len(ids), cp)
		}
		lists, gets, sums, err := controlCallsAt(ctx, e, ids, cp == e.cfg.records)
		if err != nil {
			return nil, err
		}
		lr := msRow(fmt.Sprintf("List, %d records", cp), lists)
		gr := msRow(fmt.Sprintf("Get, %d records", cp), gets)
		if list10 == nil {
			list10, get10 = lr, gr
		} else {
			lr.against(list10)
			gr.against(get10)
		}
		if cp == e.cfg.records {
			lr.target("p99 < 5 ms", lr.P99 < 5)
		}
		f.Rows = append(f.Rows, lr, gr)
		if len(sums) > 0 {
			f.Rows = append(f.Rows, msRow(fmt.Sprintf("List, summary view (as ps), %d records", cp), sums).against(lr))
		}
	}
	rss, _ := rssKiB(e.daemonPid())
	r := valueRow(fmt.Sprintf("nucleusd daemon RSS, %d records", e.cfg.records), "MiB", float64(rss)/1024)
	f.Rows = append(f.Rows, r.target("<= 64 MiB", r.Median <= 64))
	filled := time.Since(fill)
	del := time.Now()
	n, err := e.deleteAll(ctx)
	f.Notes = append(f.Notes, fmt.Sprintf("ratios here are growth against the 10-record row, not raw runsc (the summary row: against the full List at the same count); recording %d containers took %.1f s, deleting %d took %.1f s (4 at a time)",
		e.cfg.records, filled.Seconds(), n, time.Since(del).Seconds()))
	return []*Figure{f}, err
}

// controlCallsAt times controlCalls List calls and as many Gets of random
// ids, interleaved; with summary also as many Lists of the summary view
// (what nucleusctl ps asks for), in the same rotation.
func controlCallsAt(ctx context.Context, e *env, ids []string, summary bool) (lists, gets, sums []time.Duration, err error) {
	for range 10 { // warm the connection and the daemon's caches
		if _, err := e.c.List(ctx, nil); err != nil {
			return nil, nil, nil, err
		}
	}
	sumReq := &nucleusv1.ListRequest{View: nucleusv1.ListView_LIST_VIEW_SUMMARY}
	for range controlCalls {
		t := time.Now()
		if _, err := e.c.List(ctx, nil); err != nil {
			return nil, nil, nil, err
		}
		lists = append(lists, time.Since(t))
		id := ids[rand.IntN(len(ids))]
		t = time.Now()
		if _, err := e.c.Get(ctx, id); err != nil {
			return nil, nil, nil, err
		}
		gets = append(gets, time.Since(t))
		if summary {
			t = time.Now()
			if _, err := e.c.List(ctx, sumReq); err != nil {
				return nil, nil, nil, err
			}
			sums = append(sums, time.Since(t))
		}
	}
	return lists, gets, sums, nil
}
