package containerdshim

import (
	"context"
	"encoding/json"

	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/emptypb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// execSpec is what Exec registered and Start runs.
type execSpec struct {
	opts client.ExecOptions
}

// Exec registers an extra process; Start runs it.
func (s *Service) Exec(ctx context.Context, r *taskapi.ExecProcessRequest) (*emptypb.Empty, error) {
	if r.Spec == nil {
		return nil, rpcError(errdefs.InvalidArgument("exec %s: no process spec", r.ExecID))
	}
	var ps specs.Process
	if err := json.Unmarshal(r.Spec.GetValue(), &ps); err != nil {
		return nil, rpcError(errdefs.InvalidArgument("exec %s: process spec: %v", r.ExecID, err))
	}
	if len(ps.Args) == 0 {
		return nil, rpcError(errdefs.InvalidArgument("exec %s: process.args is empty", r.ExecID))
	}
	if err := refuseCaps(ps.Capabilities); err != nil {
		return nil, rpcError(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.init == nil {
		return nil, rpcError(errdefs.NotFound("task not created"))
	}
	if _, ok := s.execs[r.ExecID]; ok || r.ExecID == "" {
		return nil, rpcError(errdefs.AlreadyExists("exec %q already exists", r.ExecID))
	}
	p := newProcess(r.ExecID, stdio{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal})
	p.signal = make(chan uint32)
	p.resize = make(chan *nucleusv1.TerminalSize)
	p.spec = &execSpec{opts: client.ExecOptions{
		ID:   s.container,
		Args: ps.Args, Env: ps.Env, Cwd: ps.Cwd, TTY: ps.Terminal,
		User: &nucleusv1.User{Uid: ps.User.UID, Gid: ps.User.GID, AdditionalGids: ps.User.AdditionalGids},
	}}
	if ps.ConsoleSize != nil && ps.ConsoleSize.Height > 0 {
		p.spec.opts.TerminalSize = &nucleusv1.TerminalSize{Rows: uint32(ps.ConsoleSize.Height), Cols: uint32(ps.ConsoleSize.Width)}
	}
	s.execs[r.ExecID] = p
	s.events.publish(topicExecAdded, &eventstypes.TaskExecAdded{ContainerID: s.taskID, ExecID: r.ExecID})
	return &emptypb.Empty{}, nil
}

// startExec runs a registered exec with its own stdio until it exits.
func (s *Service) startExec(ctx context.Context, p *process) (*taskapi.StartResponse, error) {
	p.mu.Lock()
	already := p.started || p.exited != nil
	p.started = true
	p.mu.Unlock()
	if already {
		return nil, rpcError(errdefs.FailedPrecondition("exec %s already started or killed", p.id))
	}
	stdout, stderr, err := openOutputs(p.stdio)
	if err != nil {
		return nil, rpcError(err)
	}
	opts := p.spec.opts
	opts.Stdout, opts.Stderr, opts.Signals, opts.Resize = stdout, stderr, p.signal, p.resize
	if p.stdio.stdin != "" {
		in := &stdinReader{path: p.stdio.stdin}
		p.mu.Lock()
		p.closeStdin = in.Close
		p.mu.Unlock()
		opts.Stdin = in
	}
	// Announced before the exec runs, so that one that ends at once still
	// reaches containerd as exec-started, then exit.
	s.events.publish(topicExecStarted, &eventstypes.TaskExecStarted{ContainerID: s.taskID, ExecID: p.id})
	go func() {
		st, err := s.nucleus.ExecStatus(context.Background(), opts)
		stdout.Close()
		stderr.Close()
		if err != nil {
			s.log.Warn("exec", "id", p.id, "err", err)
			st = &nucleusv1.ExitStatus{ExitCode: 255}
		}
		p.mu.Lock()
		closeStdin := p.closeStdin
		p.mu.Unlock()
		if closeStdin != nil {
			closeStdin()
		}
		s.recordExit(p, exit{status: exitCode(st), at: time.Now()})
	}()
	return &taskapi.StartResponse{}, nil
}
