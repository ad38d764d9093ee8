package network

import (
	"time"

	"go.uber.org/zap"
)

// stepTimes records how long each step of an attach or detach took, for
// the debug log line that closes it: the per-step table in bench/README.md
// comes from these.
type stepTimes struct {
	last   time.Time
	fields []zap.Field
}

func startSteps() *stepTimes { return &stepTimes{last: time.Now()} }

// mark closes the step that began at the previous mark (or the start).
func (s *stepTimes) mark(step string) {
	now := time.Now()
	s.fields = append(s.fields, zap.Duration(step, now.Sub(s.last)))
	s.last = now
}

// add records steps timed elsewhere (concurrent ones).
func (s *stepTimes) add(fields ...zap.Field) { s.fields = append(s.fields, fields...) }
