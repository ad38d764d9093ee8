package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// TestE2ENamesFreeAfterCrash: kill -9 of nucleusd while named creates are
// in flight, restart, retry each create at once: a create that nucleusd
// did not finish has released its name before the socket answers, so the
// retry gets it; only a create that completed keeps its name (and then the
// name belongs to a container that is not stuck in CREATING).
func TestE2ENamesFreeAfterCrash(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	const n = 5
	for round := range 3 {
		c := d.Client()
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_, _ = c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: fmt.Sprintf("x%d-%d", round, i), Args: []string{"/bin/sleep", "30"}})
			}()
		}
		time.Sleep(150 * time.Millisecond)
		d.Kill9()
		wg.Wait()
		d.Start()
		c = d.Client()
		ctx := ctxT(t, time.Minute)
		retried, kept := 0, 0
		for i := range n {
			name := fmt.Sprintf("x%d-%d", round, i)
			_, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: name, Args: []string{"/bin/sleep", "30"}})
			switch {
			case err == nil:
				retried++
			case errors.Is(err, errdefs.ErrAlreadyExists):
				holder, gerr := c.Get(ctx, name)
				if gerr != nil || holder.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_CREATING {
					t.Errorf("round %d: %s is taken by %v (%v), a create nucleusd never finished", round, name, holder.GetState(), gerr)
				}
				kept++
			default:
				t.Errorf("round %d: retrying %s: %v", round, name, err)
			}
		}
		t.Logf("round %d: %d retries got their name, %d names kept by creates that had completed", round, retried, kept)
	}
}
