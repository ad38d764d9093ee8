package containerdshim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/task"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// outputStall is how long the init output copy may make no progress
// before the exit is reported without it (a reader that went away must
// not hold the exit back forever).
const outputStall = 30 * time.Second

// Delete removes an exited exec, or the exited (or never started) task:
// the nucleusd record and the rootfs mount.
func (s *Service) Delete(ctx context.Context, r *taskapi.DeleteRequest) (*taskapi.DeleteResponse, error) {
	p, err := s.process(r.ExecID)
	if err != nil {
		return nil, rpcError(err)
	}
	if p.status() == task.Status_RUNNING {
		return nil, rpcError(errdefs.FailedPrecondition("process %s is still running", r.ExecID))
	}
	if r.ExecID != "" {
		s.mu.Lock()
		delete(s.execs, r.ExecID)
		s.mu.Unlock()
		e := p.exitStatus()
		if e == nil {
			e = &exit{at: time.Now()}
		}
		return &taskapi.DeleteResponse{ExitStatus: e.status, ExitedAt: timestamppb.New(e.at)}, nil
	}
	if err := s.waitOutput(); err != nil {
		s.log.Warn("delete before the output was drained", "err", err)
	}
	if _, err := s.nucleus.Delete(ctx, s.container, true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return nil, rpcError(fmt.Errorf("delete task %s: %w", s.taskID, err))
	}
	s.mu.Lock()
	rootfs := s.rootfs
	s.rootfs = ""
	s.mu.Unlock()
	if rootfs != "" {
		unmountRootfs(rootfs)
	}
	e := p.exitStatus()
	if e == nil { // deleted before it ran
		e = &exit{status: 0, at: time.Now()}
		p.setExited(*e, nil)
	}
	s.events.publish(topicDelete, &eventstypes.TaskDelete{
		ContainerID: s.taskID, Pid: p.pid, ExitStatus: e.status, ExitedAt: timestamppb.New(e.at),
	})
	return &taskapi.DeleteResponse{Pid: p.pid, ExitStatus: e.status, ExitedAt: timestamppb.New(e.at)}, nil
}

// waitOutput waits until the init output copy has ended, or has made no
// progress for outputStall.
func (s *Service) waitOutput() error {
	s.mu.Lock()
	done := s.outputDone
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	last, lastAt := s.copied.Load(), time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-tick.C:
			if n := s.copied.Load(); n != last {
				last, lastAt = n, time.Now()
			} else if time.Since(lastAt) > outputStall {
				return fmt.Errorf("output copy stalled for %s", outputStall)
			}
		}
	}
}

// State reports a process's state; the init process's paused state comes
// from nucleusd.
func (s *Service) State(ctx context.Context, r *taskapi.StateRequest) (*taskapi.StateResponse, error) {
	p, err := s.process(r.ExecID)
	if err != nil {
		return nil, rpcError(err)
	}
	st := p.status()
	if r.ExecID == "" && st == task.Status_RUNNING {
		if c, err := s.nucleus.Get(ctx, s.container); err == nil && c.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_PAUSED {
			st = task.Status_PAUSED
		}
	}
	p.mu.Lock()
	resp := &taskapi.StateResponse{
		ID: r.ID, Bundle: s.bundle, Pid: p.pid, Status: st, ExecID: r.ExecID,
		Stdin: p.stdio.stdin, Stdout: p.stdio.stdout, Stderr: p.stdio.stderr, Terminal: p.stdio.terminal,
	}
	if p.exited != nil {
		resp.ExitStatus, resp.ExitedAt = p.exited.status, timestamppb.New(p.exited.at)
	}
	p.mu.Unlock()
	return resp, nil
}

// Pids lists the sandbox's host pid (the processes inside are gVisor's).
func (s *Service) Pids(ctx context.Context, r *taskapi.PidsRequest) (*taskapi.PidsResponse, error) {
	p, err := s.process("")
	if err != nil {
		return nil, rpcError(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return &taskapi.PidsResponse{Processes: []*task.ProcessInfo{{Pid: p.pid}}}, nil
}

// Kill signals the container (all=true too: every process of the task is
// inside the one sandbox) or an exec.
func (s *Service) Kill(ctx context.Context, r *taskapi.KillRequest) (*emptypb.Empty, error) {
	p, err := s.process(r.ExecID)
	if err != nil {
		return nil, rpcError(err)
	}
	if p.exitStatus() != nil {
		return nil, rpcError(errdefs.NotFound("process already finished"))
	}
	if r.ExecID != "" {
		if p.status() == task.Status_CREATED {
			// Never started: nothing to signal; it is over.
			s.recordExit(p, exit{status: 128 + r.Signal, at: time.Now()})
			return &emptypb.Empty{}, nil
		}
		select {
		case p.signal <- r.Signal:
		case <-p.done:
		case <-ctx.Done():
			return nil, rpcError(ctx.Err())
		}
		return &emptypb.Empty{}, nil
	}
	if p.status() == task.Status_CREATED {
		// Never started: nothing to signal; Delete removes it.
		s.recordExit(p, exit{status: 128 + r.Signal, at: time.Now()})
		return &emptypb.Empty{}, nil
	}
	if err := s.nucleus.Kill(ctx, s.container, r.Signal); err != nil {
		return nil, rpcError(fmt.Errorf("kill task %s: %w", s.taskID, err))
	}
	return &emptypb.Empty{}, nil
}

// Pause freezes the sandbox.
func (s *Service) Pause(ctx context.Context, r *taskapi.PauseRequest) (*emptypb.Empty, error) {
	if _, err := s.nucleus.Pause(ctx, s.container); err != nil {
		return nil, rpcError(fmt.Errorf("pause task %s: %w", s.taskID, err))
	}
	s.events.publish(topicPaused, &eventstypes.TaskPaused{ContainerID: s.taskID})
	return &emptypb.Empty{}, nil
}

// Resume thaws it.
func (s *Service) Resume(ctx context.Context, r *taskapi.ResumeRequest) (*emptypb.Empty, error) {
	if _, err := s.nucleus.Resume(ctx, s.container); err != nil {
		return nil, rpcError(fmt.Errorf("resume task %s: %w", s.taskID, err))
	}
	s.events.publish(topicResumed, &eventstypes.TaskResumed{ContainerID: s.taskID})
	return &emptypb.Empty{}, nil
}

// Checkpoint is not offered through containerd (nucleusctl checkpoint is).
func (s *Service) Checkpoint(context.Context, *taskapi.CheckpointTaskRequest) (*emptypb.Empty, error) {
	return nil, rpcError(errdefs.FailedPrecondition("checkpoint through containerd is not supported; use nucleusctl checkpoint"))
}

// Update applies new memory and CPU limits (resources is an OCI
// LinuxResources, as JSON).
func (s *Service) Update(ctx context.Context, r *taskapi.UpdateTaskRequest) (*emptypb.Empty, error) {
	if r.Resources == nil {
		return &emptypb.Empty{}, nil
	}
	var lr specs.LinuxResources
	if err := json.Unmarshal(r.Resources.GetValue(), &lr); err != nil {
		return nil, rpcError(errdefs.InvalidArgument("update: resources are not OCI LinuxResources: %v", err))
	}
	res := resources(&lr)
	res.Pids = 0 // fixed at create in nucleusd
	if _, err := s.nucleus.Update(ctx, s.container, res); err != nil {
		return nil, rpcError(fmt.Errorf("update task %s: %w", s.taskID, err))
	}
	return &emptypb.Empty{}, nil
}

// Stats returns a cgroup v1 Metrics sample filled from nucleusd's stats.
func (s *Service) Stats(ctx context.Context, r *taskapi.StatsRequest) (*taskapi.StatsResponse, error) {
	var sample *nucleusv1.ContainerStats
	err := s.nucleus.Stats(ctx, &nucleusv1.StatsRequest{Ids: []string{s.container}}, func(batch []*nucleusv1.ContainerStats) error {
		if len(batch) > 0 {
			sample = batch[0]
		}
		return nil
	})
	if err != nil {
		return nil, rpcError(fmt.Errorf("stats of task %s: %w", s.taskID, err))
	}
	if sample == nil {
		return nil, rpcError(errdefs.NotFound("no stats for task %s (not running)", s.taskID))
	}
	m, err := metrics(sample)
	if err != nil {
		return nil, rpcError(err)
	}
	return &taskapi.StatsResponse{Stats: m}, nil
}

// Connect tells containerd the shim's and the sandbox's pids.
func (s *Service) Connect(ctx context.Context, r *taskapi.ConnectRequest) (*taskapi.ConnectResponse, error) {
	resp := &taskapi.ConnectResponse{ShimPid: uint32(os.Getpid())}
	if p, err := s.process(""); err == nil {
		p.mu.Lock()
		resp.TaskPid = p.pid
		p.mu.Unlock()
	}
	return resp, nil
}

// Shutdown ends the shim once its task is gone.
func (s *Service) Shutdown(ctx context.Context, r *taskapi.ShutdownRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	live := s.init != nil && s.init.exitStatus() == nil
	s.mu.Unlock()
	if live && !r.Now {
		return &emptypb.Empty{}, nil
	}
	go s.exit()
	return &emptypb.Empty{}, nil
}
