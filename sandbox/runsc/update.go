package runsc

import (
	"context"
	"strconv"
)

// UpdateOptions are the host cgroup limits Update changes; zero fields are
// left as they are.
type UpdateOptions struct {
	MemoryBytes int64
	CPUQuota    int64 // microseconds per CPUPeriod
	CPUPeriod   uint64
}

// Update changes the sandbox's host cgroup limits (runsc update).
func (r *Runsc) Update(ctx context.Context, id string, o UpdateOptions) error {
	var args []string
	if o.MemoryBytes > 0 {
		args = append(args, "--memory="+strconv.FormatInt(o.MemoryBytes, 10))
	}
	if o.CPUQuota > 0 {
		args = append(args, "--cpu-quota="+strconv.FormatInt(o.CPUQuota, 10), "--cpu-period="+strconv.FormatUint(o.CPUPeriod, 10))
	}
	_, err := r.run(ctx, invocation{verb: "update", id: id, args: append(args, id)})
	return err
}
