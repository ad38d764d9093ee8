package core

import (
	"slices"
	"testing"
)

func TestCleanupQueue(t *testing.T) {
	q := newCleanupQueue()
	q.add("a", false)
	q.add("b", false)
	q.add("a", false) // once
	q.add("c", false)
	q.cancel("c")
	if !q.has("a") || !q.has("b") || q.has("c") {
		t.Fatalf("has a/b/c = %v/%v/%v", q.has("a"), q.has("b"), q.has("c"))
	}
	q.wake()
	q.wake() // a second wake before the round is one round
	select {
	case <-q.woken():
	default:
		t.Fatal("no wake-up")
	}
	select {
	case <-q.woken():
		t.Fatal("two wake-ups")
	default:
	}
	round := q.take()
	if !slices.Equal(round, []string{"a", "b"}) {
		t.Fatalf("round = %v", round)
	}
	// Taken but not done: still known (the janitor must leave them alone),
	// not taken again.
	if !q.has("a") || len(q.take()) != 0 {
		t.Fatalf("after take: has a = %v", q.has("a"))
	}
	q.add("d", false)
	q.done(round)
	if q.has("a") || q.has("b") || !q.has("d") {
		t.Fatalf("after done: has a/b/d = %v/%v/%v", q.has("a"), q.has("b"), q.has("d"))
	}
	if got := q.take(); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("next round = %v", got)
	}
}

// TestCleanupQueueHold: a held id is known (the janitor leaves it alone)
// but no round takes it before it is released; a cancelled one never.
func TestCleanupQueueHold(t *testing.T) {
	q := newCleanupQueue()
	q.add("held", true)
	q.add("now", false)
	q.add("gone", true)
	q.cancel("gone")
	q.release("gone") // cancelled: nothing to release
	if !q.has("held") || q.has("gone") {
		t.Fatalf("has held/gone = %v/%v", q.has("held"), q.has("gone"))
	}
	if got := q.take(); !slices.Equal(got, []string{"now"}) {
		t.Fatalf("round before release = %v", got)
	}
	q.release("held")
	q.release("held") // once
	if got := q.take(); !slices.Equal(got, []string{"held"}) {
		t.Fatalf("round after release = %v", got)
	}
}
