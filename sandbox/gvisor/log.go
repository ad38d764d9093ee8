package gvisor

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"gvisor.dev/gvisor/pkg/log"
)

// LogTo sends what gVisor's packages log in this process to l, at debug
// level under logger "gvisor" with gVisor's own level as a field. These are
// runsc's internals (runsc itself keeps them only when debugging); failures
// reach the caller as errors. gVisor's logging is process-wide (by default
// it writes glog lines to stderr), so a program's main calls this once; a
// nop logger discards them.
func LogTo(l *zap.Logger) {
	log.SetTarget(emitter{l.Named("gvisor").WithOptions(zap.WithCaller(false))})
}

// emitter is a gVisor log.Emitter writing to zap.
type emitter struct{ l *zap.Logger }

// Emit implements log.Emitter.
func (e emitter) Emit(_ int, level log.Level, _ time.Time, format string, v ...any) {
	if ce := e.l.Check(zap.DebugLevel, ""); ce != nil {
		ce.Message = fmt.Sprintf(format, v...)
		ce.Write(zap.String("gvisor_level", level.String()))
	}
}
