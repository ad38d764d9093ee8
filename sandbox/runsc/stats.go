package runsc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// Stats is one resource sample of a container, from `runsc events --stats`.
// A limit of 0 means runsc did not report one.
type Stats struct {
	MemoryUsage   uint64 `json:"memory_usage"`
	MemoryLimit   uint64 `json:"memory_limit"`
	CPUUsageNanos uint64 `json:"cpu_usage_nanos"`
	PidsCurrent   uint64 `json:"pids_current"`
	PidsLimit     uint64 `json:"pids_limit"`
	// InPod: the container shares another's sandbox (a pod's member), so
	// the sandbox's host cgroup is the pod's, not the container's.
	InPod bool `json:"in_pod,omitempty"`
}

// event is the part of runsc's stats event we read.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit uint64 `json:"limit"`
				Usage uint64 `json:"usage"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

// Stats samples the container's memory, CPU and pids once.
func (r *Runsc) Stats(ctx context.Context, id string) (*Stats, error) {
	out, err := r.run(ctx, invocation{verb: "events", id: id, args: []string{"--stats", id}})
	if err != nil {
		return nil, err
	}
	// One JSON object per line; take the first stats event.
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), maxOutput)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, &Error{Verb: "events", ID: id, ExitCode: -1, Err: fmt.Errorf("decoding stats: %w", err)}
		}
		if ev.Type != "stats" {
			continue
		}
		return &Stats{
			MemoryUsage:   ev.Data.Memory.Usage.Usage,
			MemoryLimit:   ev.Data.Memory.Usage.Limit,
			CPUUsageNanos: ev.Data.CPU.Usage.Total,
			PidsCurrent:   ev.Data.Pids.Current,
			PidsLimit:     ev.Data.Pids.Limit,
		}, nil
	}
	// runsc prints nothing (and exits 0) for a container that is not running.
	return nil, &Error{Verb: "events", ID: id, ExitCode: 0, Stderr: "no stats reported (container not running?)", kind: errFailedPrecondition}
}
