package main

import (
	"context"
	"fmt"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// abusers are what a hostile tenant runs beside everyone else: a fork
// bomb (inside the sandbox's pids limit), a memory hog (up to its memory
// limit), an output flood and a /tmp filler.
var abusers = []string{
	"b() { b | b & }; b; sleep 600",
	"while :; do head -c 2000m /dev/zero | tail > /dev/null; done",
	"yes 'flood flood flood flood flood flood flood flood'",
	"while :; do head -c 100m /dev/zero > /tmp/fill 2>/dev/null; rm -f /tmp/fill; done",
}

// abuseFigure is root's List (what ps calls) and `nucleusctl ps`, idle and
// while the four abusers run.
func abuseFigure(ctx context.Context, e *env) ([]*Figure, error) {
	idleAPI, idleCLI, err := psLatencies(ctx, e)
	if err != nil {
		return nil, err
	}
	var ids []string
	defer func() {
		for _, id := range ids {
			_, _ = e.c.Delete(ctx, id, true)
		}
	}()
	for _, script := range abusers {
		c, err := e.c.RunDetached(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sh", "-c", script}})
		if err != nil {
			return nil, fmt.Errorf("starting an abuser: %w", err)
		}
		ids = append(ids, c.GetId())
	}
	time.Sleep(3 * time.Second)
	busyAPI, busyCLI, err := psLatencies(ctx, e)
	if err != nil {
		return nil, err
	}
	f := &Figure{Key: "12 ps under abuse", Title: "root's List (Go client) and nucleusctl ps, idle and while a fork bomb, a memory hog, an output flood and a /tmp filler run"}
	apiIdle, cliIdle := msRow("List, idle", idleAPI), msRow("nucleusctl ps, idle", idleCLI)
	apiBusy := msRow("List, 4 abusers", busyAPI).against(apiIdle)
	cliBusy := msRow("nucleusctl ps, 4 abusers", busyCLI).against(cliIdle)
	f.Rows = append(f.Rows, apiIdle, apiBusy.target("p99 <= 50 ms", apiBusy.P99 <= 50), cliIdle, cliBusy)
	return []*Figure{f}, nil
}

// psLatencies times 200 List calls (5 ms apart) and 20 `nucleusctl ps`.
func psLatencies(ctx context.Context, e *env) (api, cli []time.Duration, err error) {
	for range 200 {
		begin := time.Now()
		if _, err := e.c.List(ctx, nil); err != nil {
			return nil, nil, err
		}
		api = append(api, time.Since(begin))
		time.Sleep(5 * time.Millisecond)
	}
	for range 20 {
		d, err := e.cli(ctx, "ps")
		if err != nil {
			return nil, nil, err
		}
		cli = append(cli, d)
	}
	return api, cli, nil
}
