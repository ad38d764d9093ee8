package supervisor

import (
	"errors"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/sandbox/gvisor"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// inProcessCreator returns a gvisor.Client for rs's runsc when that runsc
// was built from the gVisor version linked into this program: creating the
// sandbox then costs no runsc process (its start is tens of milliseconds
// of a cold run). Otherwise it returns rs, and says why in the log.
func inProcessCreator(rs *runsc.Runsc, log *zap.Logger) creator {
	flags, err := rs.GlobalFlags()
	if err == nil {
		var c *gvisor.Client
		if c, err = gvisor.Open(rs.Binary, flags); err == nil {
			log.Debug("create and start run in the supervisor (gVisor linked in)")
			return c
		}
	}
	if errors.Is(err, gvisor.ErrOtherVersion) {
		log.Info("create and start run runsc processes", zap.Error(err))
	} else {
		log.Warn("create and start run runsc processes", zap.Error(err))
	}
	return rs
}
