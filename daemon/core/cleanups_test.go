package core

import (
	"slices"
	"testing"
)

func TestCleanupQueue(t *testing.T) {
	q := newCleanupQueue()
	q.add("a")
	q.add("b")
	q.add("a") // once
	q.add("c")
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
	q.add("d")
	q.done(round)
	if q.has("a") || q.has("b") || !q.has("d") {
		t.Fatalf("after done: has a/b/d = %v/%v/%v", q.has("a"), q.has("b"), q.has("d"))
	}
	if got := q.take(); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("next round = %v", got)
	}
}
