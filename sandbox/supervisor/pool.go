package supervisor

import "time"

// The Spawner's free supervisors: spares started ahead of need and, with
// SpawnOptions.Reuse, supervisors back from their container. A create
// takes the newest (its caches are warm); the ones free longest are ended
// after IdleTimeout, down to one, and there are never more than MaxIdle.

const defaultIdleTimeout = time.Minute

// Close ends the free supervisors (their spec pipes close and they exit)
// and keeps none from now on. Supervisors of containers are not affected:
// they exit after their container.
func (s *Spawner) Close() {
	s.mu.Lock()
	s.closed = true
	for _, t := range []*time.Timer{s.pending, s.trimmer} {
		if t != nil {
			t.Stop()
		}
	}
	s.pending, s.trimmer = nil, nil
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, sp := range idle {
		sp.discard()
	}
}

// takeSpare returns the newest free supervisor, if any.
func (s *Spawner) takeSpare() *spare {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.idle)
	if n == 0 {
		return nil
	}
	sp := s.idle[n-1]
	s.idle = s.idle[:n-1]
	return sp
}

// scheduleRefill starts a spare after RefillDelay (at once when it is
// zero), unless a supervisor is free by then or a refill is scheduled.
func (s *Spawner) scheduleRefill() {
	if s.opts.RefillDelay <= 0 {
		s.refill()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.idle) > 0 || s.pending != nil {
		return
	}
	s.pending = time.AfterFunc(s.opts.RefillDelay, func() {
		s.mu.Lock()
		s.pending = nil
		s.mu.Unlock()
		s.refill()
	})
}

// refill starts a spare when no supervisor is free.
func (s *Spawner) refill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) > 0 || s.closed {
		return
	}
	sp, err := s.start(s.opts.Reuse > 1)
	if err != nil {
		return // the next Spawn starts one itself and reports the error
	}
	s.idle = append(s.idle, sp)
}

// awaitIdle waits until a reusable supervisor says its container's life is
// over, then keeps it free; a supervisor that exits instead (it was not
// fit for reuse, its last container is done, or it was killed) is let go.
func (s *Spawner) awaitIdle(sp *spare) {
	resp, err := sp.report()
	if err != nil || !resp.OK || !resp.Idle {
		sp.discard()
		return
	}
	s.mu.Lock()
	if s.closed || len(s.idle) >= s.maxIdle() {
		s.mu.Unlock()
		sp.discard()
		return
	}
	sp.idleSince = time.Now()
	s.idle = append(s.idle, sp)
	s.scheduleTrimLocked()
	s.mu.Unlock()
}

func (s *Spawner) maxIdle() int {
	return max(s.opts.MaxIdle, 1)
}

func (s *Spawner) idleTimeout() time.Duration {
	if s.opts.IdleTimeout > 0 {
		return s.opts.IdleTimeout
	}
	return defaultIdleTimeout
}

// scheduleTrimLocked arms the trimmer for when the supervisor free longest
// (beyond the newest) reaches IdleTimeout. s.mu is held.
func (s *Spawner) scheduleTrimLocked() {
	if s.closed || s.trimmer != nil || len(s.idle) <= 1 {
		return
	}
	due := time.Until(s.idle[0].idleSince.Add(s.idleTimeout()))
	s.trimmer = time.AfterFunc(max(due, 0), s.trim)
}

// trim ends the supervisors free longer than IdleTimeout, keeping the
// newest.
func (s *Spawner) trim() {
	s.mu.Lock()
	s.trimmer = nil
	cutoff := time.Now().Add(-s.idleTimeout())
	var ended []*spare
	for len(s.idle) > 1 && !s.idle[0].idleSince.After(cutoff) {
		ended = append(ended, s.idle[0])
		s.idle = s.idle[1:]
	}
	s.scheduleTrimLocked()
	s.mu.Unlock()
	for _, sp := range ended {
		sp.discard()
	}
}
