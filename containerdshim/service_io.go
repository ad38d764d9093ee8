package containerdshim

import (
	"context"
	"errors"
	"fmt"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"google.golang.org/protobuf/types/known/emptypb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// CloseIO closes a process's stdin.
func (s *Service) CloseIO(ctx context.Context, r *taskapi.CloseIORequest) (*emptypb.Empty, error) {
	p, err := s.process(r.ExecID)
	if err != nil {
		return nil, rpcError(err)
	}
	p.mu.Lock()
	closeStdin := p.closeStdin
	p.mu.Unlock()
	if r.Stdin && closeStdin != nil {
		closeStdin()
	}
	return &emptypb.Empty{}, nil
}

// ResizePty resizes a process's terminal.
func (s *Service) ResizePty(ctx context.Context, r *taskapi.ResizePtyRequest) (*emptypb.Empty, error) {
	p, err := s.process(r.ExecID)
	if err != nil {
		return nil, rpcError(err)
	}
	size := &nucleusv1.TerminalSize{Rows: r.Height, Cols: r.Width}
	if r.ExecID != "" {
		select {
		case p.resize <- size:
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		return &emptypb.Empty{}, nil
	}
	// An attachment applies its terminal size at once; it needs no stdin.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = s.nucleus.Attach(actx, s.container, client.AttachStreamOptions{
		TerminalSize: size,
		Attached:     func(*nucleusv1.Container) { cancel() },
	})
	if err != nil && !errors.Is(err, context.Canceled) && actx.Err() == nil {
		return nil, rpcError(fmt.Errorf("resize task %s: %w", s.taskID, err))
	}
	return &emptypb.Empty{}, nil
}

// forwardStdin writes containerd's stdin FIFO to the container through an
// attachment (the container was created with open_stdin, or is a tty).
func (s *Service) forwardStdin(p *process) {
	in := &stdinReader{path: p.stdio.stdin}
	p.mu.Lock()
	p.closeStdin = in.Close
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-p.done; in.Close(); cancel() }()
	// CloseIO ends in's reads with EOF, which closes the container's stdin.
	opts := client.AttachStreamOptions{Stdin: in, CloseStdinAtEOF: true}
	if _, err := s.nucleus.Attach(ctx, s.container, opts); err != nil && ctx.Err() == nil {
		s.log.Warn("forward stdin", "err", err)
	}
}
