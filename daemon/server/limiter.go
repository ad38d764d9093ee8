package server

import (
	"sync"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Limits bound something a caller holds open (streams, connections).
// Zero fields mean no limit.
type Limits struct {
	// PerCaller bounds one non-root caller.
	PerCaller int
	// Root bounds root, which does not count towards Total: a tenant at
	// its limit, or all tenants together, never lock root out.
	Root int
	// Total bounds all non-root callers together.
	Total int
}

// limiter counts what each caller holds and refuses more than Limits
// allow.
type limiter struct {
	what string // "streaming calls", "connections": for errors
	keys string // the config keys, for errors
	lim  Limits

	mu    sync.Mutex
	held  map[string]int
	total int // non-root
}

func newLimiter(what, keys string, lim Limits) *limiter {
	return &limiter{what: what, keys: keys, lim: lim, held: map[string]int{}}
}

// acquire takes one slot for caller (root: the root limit) and returns the
// function that gives it back (call it once), or ResourceExhausted.
func (l *limiter) acquire(caller string, root bool) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.held[caller]
	switch {
	case root && l.lim.Root > 0 && n >= l.lim.Root:
		return nil, errdefs.ResourceExhausted("%s has %d %s open, the configured maximum for root ([limits] %s)", caller, n, l.what, l.keys+"_root")
	case !root && l.lim.PerCaller > 0 && n >= l.lim.PerCaller:
		return nil, errdefs.ResourceExhausted("%s has %d %s open, the configured maximum per caller ([limits] %s); close some first", caller, n, l.what, l.keys+"_per_uid")
	case !root && l.lim.Total > 0 && l.total >= l.lim.Total:
		return nil, errdefs.ResourceExhausted("non-root callers have %d %s open, the configured maximum ([limits] %s)", l.total, l.what, l.keys)
	}
	l.held[caller] = n + 1
	if !root {
		l.total++
	}
	return func() { l.release(caller, root) }, nil
}

func (l *limiter) release(caller string, root bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[caller]--; l.held[caller] <= 0 {
		delete(l.held, caller)
	}
	if !root {
		l.total--
	}
}

// count is what caller holds (tests).
func (l *limiter) count(caller string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held[caller]
}
