package core

import "sync"

// cleanupQueue holds the ids of removed containers whose host side is not
// cleaned up yet, from the removal of their record until their cleanup
// round ends.
type cleanupQueue struct {
	mu      sync.Mutex
	pending []string        // not taken by a round yet
	known   map[string]bool // pending or in a round
	signal  chan struct{}   // 1-buffered: a round is due
}

func newCleanupQueue() *cleanupQueue {
	return &cleanupQueue{known: map[string]bool{}, signal: make(chan struct{}, 1)}
}

func (q *cleanupQueue) add(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.known[id] {
		q.known[id] = true
		q.pending = append(q.pending, id)
	}
}

// cancel forgets an id added by mistake (its record could not be removed).
func (q *cleanupQueue) cancel(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.known, id)
	for i, p := range q.pending {
		if p == id {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			break
		}
	}
}

func (q *cleanupQueue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *cleanupQueue) woken() <-chan struct{} { return q.signal }

// take returns every pending id for one round.
func (q *cleanupQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := q.pending
	q.pending = nil
	return ids
}

func (q *cleanupQueue) done(ids []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		delete(q.known, id)
	}
}

// has reports whether id waits for or is in a cleanup round.
func (q *cleanupQueue) has(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.known[id]
}
