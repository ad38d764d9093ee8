package core

import (
	"context"
	"sync"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
)

// statsWorkers bounds how many sandboxes one Stats sample asks at once.
const statsWorkers = 8

// StatsSample samples the containers ids (all the caller's live ones when
// empty) concurrently, at most statsWorkers at a time, in the order given
// (oldest first for all). With named ids the first failure is the answer;
// otherwise containers that exit meanwhile are left out.
func (d *Daemon) StatsSample(ctx context.Context, caller auth.Identity, ids []string) ([]*nucleusv1.ContainerStats, error) {
	strict := len(ids) > 0
	if !strict {
		cs, err := d.List(caller, ListFilter{States: []nucleusv1.ContainerState{stateRunning, statePaused}})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			ids = append(ids, c.GetId())
		}
	}
	out := make([]*nucleusv1.ContainerStats, len(ids))
	errs := make([]error, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(statsWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = d.Stats(ctx, caller, ids[i])
			}
		}()
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	kept := out[:0]
	for i, st := range out {
		if errs[i] != nil {
			if strict {
				return nil, errs[i]
			}
			continue // it exited meanwhile
		}
		kept = append(kept, st)
	}
	return kept, nil
}
