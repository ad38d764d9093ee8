package core

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLockCtxGivesUp: a waiter whose context ends gets its error at once
// and holds nothing; the holder's unlock then hands the lock to the next
// waiter, and the map forgets a key nobody holds or waits for.
func TestLockCtxGivesUp(t *testing.T) {
	var k keyedMutex
	unlock := k.lock("snapshot:a")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if _, err := k.lockCtx(ctx, "snapshot:a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lockCtx on a held key: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Fatalf("gave up after %v", d)
	}
	// Another key is not held.
	other, err := k.lockCtx(context.Background(), "snapshot:b")
	if err != nil {
		t.Fatal(err)
	}
	other()

	got := make(chan func(), 1)
	go func() {
		u, err := k.lockCtx(context.Background(), "snapshot:a")
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("the lock was taken while held")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	select {
	case u := <-got:
		u()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the lock after unlock")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.locks) != 0 {
		t.Fatalf("%d keys left in the map", len(k.locks))
	}
}
