package containerdshim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// Service is the task service of one shim: one containerd task (the init
// process, a nucleusd container) and its execs.
type Service struct {
	namespace string
	nucleus   *client.Client
	events    *publisher
	log       *slog.Logger
	// exit is called once the task is deleted and containerd shuts the
	// shim down.
	exit func()

	mu        sync.Mutex
	taskID    string // containerd's id
	bundle    string
	container string // nucleusd id
	rootfs    string // where the shim mounted containerd's rootfs; "" if not
	init      *process
	execs     map[string]*process
	// outputDone is closed when the init output copy has ended; copied
	// counts its bytes.
	outputDone chan struct{}
	copied     atomic.Int64
}

var _ taskapi.TaskService = (*Service)(nil)

// NewService returns a task service that reaches nucleusd through c and
// publishes events through events.
func NewService(namespace string, c *client.Client, events *publisher, log *slog.Logger, exit func()) *Service {
	return &Service{namespace: namespace, nucleus: c, events: events, log: log, exit: exit, execs: map[string]*process{}}
}

// rpcError converts err for ttrpc, which carries gRPC statuses.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	return errdefs.ToGRPC(err)
}

// Create maps the bundle's spec to a nucleusd container and creates it.
func (s *Service) Create(ctx context.Context, r *taskapi.CreateTaskRequest) (_ *taskapi.CreateTaskResponse, retErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.init != nil {
		return nil, rpcError(errdefs.AlreadyExists("task %s already created", s.taskID))
	}
	spec, err := readSpec(r.Bundle)
	if err != nil {
		return nil, rpcError(err)
	}
	io := stdio{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal}
	cs, err := MapSpec(Task{Namespace: s.namespace, ID: r.ID, Bundle: r.Bundle, Spec: spec, Stdin: r.Stdin != ""})
	if err != nil {
		return nil, rpcError(fmt.Errorf("task %s: %w", r.ID, err))
	}
	if err := PlacePod(cs, spec, s.namespace); err != nil {
		return nil, rpcError(err)
	}
	mounted, err := mountRootfs(r.Rootfs, cs.GetRootfs())
	if err != nil {
		return nil, rpcError(err)
	}
	defer func() {
		if retErr != nil && mounted {
			unmountRootfs(cs.GetRootfs())
		}
	}()
	ctr, err := s.nucleus.Create(ctx, cs)
	if err != nil {
		return nil, rpcError(fmt.Errorf("nucleusd refused task %s: %w", r.ID, err))
	}
	s.taskID, s.bundle, s.container = r.ID, r.Bundle, ctr.GetId()
	if mounted {
		s.rootfs = cs.GetRootfs()
	}
	s.init = newProcess("", io)
	s.init.pid = uint32(ctr.GetPid())
	s.events.publish(topicCreate, &eventstypes.TaskCreate{
		ContainerID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs, Pid: s.init.pid, Checkpoint: r.Checkpoint,
		IO: &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
	})
	return &taskapi.CreateTaskResponse{Pid: s.init.pid}, nil
}

// maxSpecBytes bounds config.json: nucleusd takes no request larger than
// its [limits] max_request_bytes (4 MiB by default) anyway.
const maxSpecBytes = 4 << 20

// readSpec reads and decodes <bundle>/config.json: a regular file (a FIFO
// or a device there would block or never end) of at most maxSpecBytes.
func readSpec(bundle string) (*specs.Spec, error) {
	if bundle == "" || !filepath.IsAbs(bundle) {
		return nil, errdefs.InvalidArgument("bundle %q is not an absolute path", bundle)
	}
	f, err := os.OpenFile(filepath.Join(bundle, "config.json"), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, errdefs.InvalidArgument("read the task's spec: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, errdefs.InvalidArgument("the task's config.json is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSpecBytes+1))
	if err != nil {
		return nil, errdefs.InvalidArgument("read the task's spec: %v", err)
	}
	if len(data) > maxSpecBytes {
		return nil, errdefs.InvalidArgument("the task's config.json is larger than %d MiB", maxSpecBytes>>20)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, errdefs.InvalidArgument("config.json is not a valid OCI runtime spec: %v", err)
	}
	return &spec, nil
}

// process finds the init process ("") or an exec.
func (s *Service) process(execID string) (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.init == nil {
		return nil, errdefs.NotFound("task not created")
	}
	if execID == "" {
		return s.init, nil
	}
	p, ok := s.execs[execID]
	if !ok {
		return nil, errdefs.NotFound("exec %s not found", execID)
	}
	return p, nil
}

// Start starts the init process (the container) or an exec.
func (s *Service) Start(ctx context.Context, r *taskapi.StartRequest) (*taskapi.StartResponse, error) {
	p, err := s.process(r.ExecID)
	if err != nil {
		return nil, rpcError(err)
	}
	if r.ExecID != "" {
		return s.startExec(ctx, p)
	}
	p.mu.Lock()
	already := p.started
	p.started = true
	p.mu.Unlock()
	if already {
		return nil, rpcError(errdefs.FailedPrecondition("task %s already started", s.taskID))
	}
	stdout, stderr, err := openOutputs(p.stdio)
	if err != nil {
		return nil, rpcError(err)
	}
	ctr, err := s.nucleus.Start(ctx, s.container)
	if err != nil {
		stdout.Close()
		stderr.Close()
		p.mu.Lock()
		p.started = false
		p.mu.Unlock()
		return nil, rpcError(fmt.Errorf("start task %s: %w", s.taskID, err))
	}
	p.mu.Lock()
	if pid := uint32(ctr.GetPid()); pid != 0 {
		p.pid = pid
	}
	pid := p.pid
	p.mu.Unlock()
	s.mu.Lock()
	s.outputDone = make(chan struct{})
	done := s.outputDone
	s.mu.Unlock()
	go func() {
		defer close(done)
		defer stdout.Close()
		defer stderr.Close()
		if err := copyLogs(context.Background(), s.nucleus, s.container, stdout, stderr, &s.copied); err != nil {
			s.log.Warn("copy output", "err", err)
		}
	}()
	if p.stdio.stdin != "" {
		go s.forwardStdin(p)
	}
	// Published before the waiter exists, so that a task that exits at
	// once still reaches containerd as start, then exit.
	s.events.publish(topicStart, &eventstypes.TaskStart{ContainerID: s.taskID, Pid: pid})
	go s.waitInit(p)
	return &taskapi.StartResponse{Pid: pid}, nil
}

// waitInit records the container's exit and tells containerd, once.
func (s *Service) waitInit(p *process) {
	var st *nucleusv1.ExitStatus
	var at time.Time
	for attempt := 0; ; attempt++ {
		resp, err := s.nucleus.Wait(context.Background(), s.container)
		if err == nil {
			st, at = resp.GetExit(), time.Now()
			if c, gerr := s.nucleus.Get(context.Background(), s.container); gerr == nil && c.GetFinishedAt() != nil {
				at = c.GetFinishedAt().AsTime()
			}
			break
		}
		if errors.Is(err, errdefs.ErrNotFound) || attempt > 600 {
			s.log.Error("wait for the container", "err", err)
			st, at = nil, time.Now()
			break
		}
		time.Sleep(time.Second) // nucleusd restarting: its supervisor still holds the container
	}
	// containerd's client closes its FIFOs once it has the exit: the
	// output goes first.
	if err := s.waitOutput(); err != nil {
		s.log.Warn("exit reported before the output was drained", "err", err)
	}
	if st.GetOomKilled() {
		// Before the exit: containerd's CRI plugin gives the container
		// the reason OOMKilled only if this arrives first.
		s.events.publish(topicOOM, &eventstypes.TaskOOM{ContainerID: s.taskID})
	}
	s.recordExit(p, exit{status: exitCode(st), at: at})
}

// recordExit sets p's exit and publishes TaskExit if it was the first.
func (s *Service) recordExit(p *process, e exit) {
	id := p.id
	if id == "" {
		id = s.taskID
	}
	p.setExited(e, func(pid uint32) {
		s.events.publish(topicExit, &eventstypes.TaskExit{
			ContainerID: s.taskID, ID: id, Pid: pid, ExitStatus: e.status, ExitedAt: timestamppb.New(e.at),
		})
	})
}

// Wait blocks until the process exits.
func (s *Service) Wait(ctx context.Context, r *taskapi.WaitRequest) (*taskapi.WaitResponse, error) {
	p, err := s.process(r.ExecID)
	if err != nil {
		return nil, rpcError(err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, rpcError(ctx.Err())
	}
	e := p.exitStatus()
	return &taskapi.WaitResponse{ExitStatus: e.status, ExitedAt: timestamppb.New(e.at)}, nil
}
