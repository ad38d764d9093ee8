package core

import "sync"

// cleanupQueue holds the ids of removed containers whose host side is not
// cleaned up yet, from the removal of their record until their cleanup
// round ends.
type cleanupQueue struct {
	mu      sync.Mutex
	pending []string        // not taken by a round yet
	held    map[string]bool // added, but not to be cleaned until released
	known   map[string]bool // held, pending or in a round
	signal  chan struct{}   // 1-buffered: a round is due
}

func newCleanupQueue() *cleanupQueue {
	return &cleanupQueue{known: map[string]bool{}, held: map[string]bool{}, signal: make(chan struct{}, 1)}
}

// add queues id for cleanup; with hold, it waits for release (an attached
// run still reads its log) while the janitor already leaves it alone.
func (q *cleanupQueue) add(id string, hold bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.known[id] {
		return
	}
	q.known[id] = true
	if hold {
		q.held[id] = true
		return
	}
	q.pending = append(q.pending, id)
}

// release queues a held id for the next round.
func (q *cleanupQueue) release(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.held[id] {
		delete(q.held, id)
		q.pending = append(q.pending, id)
	}
}

// cancel forgets an id added by mistake (its record could not be removed).
func (q *cleanupQueue) cancel(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.known, id)
	delete(q.held, id)
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
