package service

import (
	"context"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// lockedSender serialises sends from the stdout and stderr copiers.
type lockedSender struct {
	mu   sync.Mutex
	send func(*nucleusv1.ExecResponse) error
}

func (l *lockedSender) sendLocked(msg *nucleusv1.ExecResponse) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.send(msg)
}

func (l *lockedSender) writer(stderr bool) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		data := append([]byte(nil), p...)
		msg := &nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Stdout{Stdout: data}}
		if stderr {
			msg = &nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Stderr{Stderr: data}}
		}
		if err := l.sendLocked(msg); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Exec implements nucleusv1.NucleusServer. The stream answers exec_id
// first, then output, then exit. The client's half-close (end of its send
// side) closes the process's stdin and nothing else: the stream goes on
// until the process exits. Cancelling the call kills the process.
func (s *Service) Exec(stream grpc.BidiStreamingServer[nucleusv1.ExecRequest, nucleusv1.ExecResponse]) error {
	id, err := caller(stream.Context())
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return errdefs.InvalidArgument("the first Exec message must carry start")
	}
	var timeout time.Duration
	if t := start.GetTimeout(); t != nil {
		if err := t.CheckValid(); err != nil {
			return errdefs.InvalidArgument("timeout: %v", err)
		}
		timeout = t.AsDuration()
	}
	// A bad later message ends the exec (cancel) with its error as cause.
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	in := pumpExecInput(ctx, cancel, start, stream.Recv)
	defer in.pr.Close()
	out := &lockedSender{send: stream.Send}
	o := core.ExecIO{
		Stdout: out.writer(false), Stderr: out.writer(true), Signals: in.signals, Timeout: timeout,
		Started: func(execID string) error {
			return out.sendLocked(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_ExecId{ExecId: execID}})
		},
	}
	if start.GetStdin() {
		o.Stdin = in.pr
	}
	if start.GetTty() {
		ts := start.GetTerminalSize()
		o.Terminal = &sandbox.Terminal{Size: winSize(ts), Resize: in.resize}
		o.Stderr = nil // the terminal merges it into stdout
	}
	st, err := s.d.Exec(ctx, id, start.GetId(), core.ExecRequest{Args: start.GetArgs(), Env: start.GetEnv(), User: start.GetUser(), Cwd: start.GetCwd()}, o)
	if cause := context.Cause(ctx); cause != nil && stream.Context().Err() == nil {
		return cause
	}
	if err != nil {
		return err
	}
	return out.sendLocked(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Exit{Exit: st}})
}

// execInput is what an Exec stream's later messages carry.
type execInput struct {
	pr      *io.PipeReader
	signals chan unix.Signal
	resize  chan sandbox.WinSize
}

// winSize converts a requested terminal size; sizes above 65535 are
// clamped.
func winSize(ts *nucleusv1.TerminalSize) sandbox.WinSize {
	return sandbox.WinSize{Rows: uint16(min(ts.GetRows(), 0xffff)), Cols: uint16(min(ts.GetCols(), 0xffff))}
}

// pumpExecInput reads an Exec stream's later messages until it ends: stdin
// chunks into a pipe, a stdin close or the client's half-close (io.EOF)
// closes it, and signals go to the channel. A malformed message cancels
// ctx with an InvalidArgument cause.
func pumpExecInput(ctx context.Context, cancel context.CancelCauseFunc, start *nucleusv1.ExecStart, recv func() (*nucleusv1.ExecRequest, error)) *execInput {
	stdin := start.GetStdin()
	pr, pw := io.Pipe()
	in := &execInput{pr: pr, signals: make(chan unix.Signal, 8), resize: make(chan sandbox.WinSize, 8)}
	go func() {
		defer pw.Close()
		for {
			m, err := recv()
			if err != nil {
				return // half-close (io.EOF) or the call's end: stdin EOF
			}
			switch msg := m.GetMsg().(type) {
			case *nucleusv1.ExecRequest_CloseStdin:
				_ = pw.Close()
			case *nucleusv1.ExecRequest_Stdin:
				if !stdin {
					cancel(errdefs.InvalidArgument("stdin sent, but the exec was started without start.stdin"))
					return
				}
				if _, err := pw.Write(msg.Stdin); err != nil {
					continue // stdin was closed; keep reading for signals
				}
			case *nucleusv1.ExecRequest_Signal:
				sig, err := core.ValidSignal(msg.Signal)
				if err != nil {
					cancel(err)
					return
				}
				select {
				case in.signals <- sig:
				case <-ctx.Done():
					return
				}
			case *nucleusv1.ExecRequest_Resize:
				if !start.GetTty() {
					cancel(errdefs.InvalidArgument("resize sent, but the exec was started without start.tty"))
					return
				}
				select {
				case in.resize <- winSize(msg.Resize):
				case <-ctx.Done():
					return
				}
			case *nucleusv1.ExecRequest_Start:
				cancel(errdefs.InvalidArgument("only the first Exec message may carry start"))
				return
			}
		}
	}()
	return in
}

// ExecSync implements nucleusv1.NucleusServer.
func (s *Service) ExecSync(ctx context.Context, req *nucleusv1.ExecSyncRequest) (*nucleusv1.ExecSyncResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var timeout time.Duration
	if t := req.GetTimeout(); t != nil {
		timeout = t.AsDuration()
	}
	res, err := s.d.ExecSync(ctx, id, req.GetId(), core.ExecRequest{Args: req.GetArgs(), Env: req.GetEnv(), User: req.GetUser(), Cwd: req.GetCwd()},
		req.GetStdin(), timeout, req.GetMaxOutputBytes())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.ExecSyncResponse{
		Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: int32(res.ExitCode), Signal: int32(res.Signal),
		StdoutTruncated: res.StdoutTruncated, StderrTruncated: res.StderrTruncated, TimedOut: res.TimedOut,
	}, nil
}
