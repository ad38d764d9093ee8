package containerdshim

import (
	"fmt"

	"github.com/containerd/cgroups/v3/cgroup1/stats"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/anypb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// metrics fills the cgroup v1 Metrics that containerd's clients (ctr task
// metrics, the CRI plugin) decode from a nucleusd sample: memory, CPU time
// and pids, which is what nucleusd measures of a sandbox.
func metrics(s *nucleusv1.ContainerStats) (*anypb.Any, error) {
	limit := s.GetMemoryLimitBytes()
	if limit == 0 {
		limit = ^uint64(0) // cgroup v1 reports "unlimited" this way
	}
	m := &stats.Metrics{
		Memory: &stats.MemoryStat{
			Usage: &stats.MemoryEntry{Usage: s.GetMemoryUsageBytes(), Limit: limit},
			RSS:   s.GetMemoryUsageBytes(),
		},
		CPU:  &stats.CPUStat{Usage: &stats.CPUUsage{Total: s.GetCpuUsageNs()}},
		Pids: &stats.PidsStat{Current: s.GetPidsCurrent(), Limit: s.GetPidsLimit()},
	}
	a, err := typeurl.MarshalAnyToProto(m)
	if err != nil {
		return nil, fmt.Errorf("marshal metrics: %w", err)
	}
	return a, nil
}
