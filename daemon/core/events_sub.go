package core

import (
	"sync"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// subscriber is one Events subscription's queue: the bus appends matching
// events as they are committed, the subscription's goroutine takes them.
// The queue holds pointers to the bus's events (shared, never changed),
// so an idle subscriber costs a few hundred bytes.
type subscriber struct {
	filter EventFilter
	wake   chan struct{} // capacity 1: something was queued or it was dropped

	mu      sync.Mutex
	queue   []*nucleusv1.Event
	sent    uint64 // the last sequence emitted, for the resume hint
	dropped error
}

// push queues ev; false (and the subscriber dropped) when limit events are
// queued already. It never blocks.
func (s *subscriber) push(ev *nucleusv1.Event, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) >= limit {
		s.dropped = errdefs.ResourceExhausted("events subscriber fell behind by %d events; resubscribe with since_sequence=%d",
			len(s.queue)+1, s.sent)
		s.queue = nil
	} else {
		s.queue = append(s.queue, ev)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return s.dropped == nil
}

// take returns the queued events, or why the subscriber was dropped.
func (s *subscriber) take() ([]*nucleusv1.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped != nil {
		return nil, s.dropped
	}
	evs := s.queue
	s.queue = nil
	return evs, nil
}

func (s *subscriber) delivered(seq uint64) {
	s.mu.Lock()
	s.sent = seq
	s.mu.Unlock()
}

// droppedErr is why the subscriber was dropped, nil while it is not.
func (s *subscriber) droppedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}
