package service

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/internal/errdefs"
)

const (
	defaultGrace         = 10 * time.Second
	defaultStatsInterval = time.Second
	minStatsInterval     = 100 * time.Millisecond
	// logBatch bounds the entries sent in one LogsResponse.
	logBatch = 64
)

// input pumps stdin chunks, close and signals from a client stream into a
// pipe and a channel until the stream ends. A vanished client closes
// stdin.
type input struct {
	pr      *io.PipeReader
	signals chan uint32
}

func pumpInput(ctx context.Context, recv func() (stdin []byte, closeStdin bool, signal uint32, err error)) *input {
	pr, pw := io.Pipe()
	in := &input{pr: pr, signals: make(chan uint32, 8)}
	go func() {
		defer pw.Close()
		for {
			data, closeStdin, sig, err := recv()
			if err != nil {
				return
			}
			switch {
			case closeStdin:
				_ = pw.Close()
			case sig != 0:
				select {
				case in.signals <- sig:
				case <-ctx.Done():
					return
				}
			case len(data) > 0:
				if _, err := pw.Write(data); err != nil {
					// stdin was closed; keep reading for signals
					continue
				}
			}
		}
	}()
	return in
}

// Run implements nucleusv1.NucleusServer: create + start, optionally
// attached.
func (s *Service) Run(stream grpc.BidiStreamingServer[nucleusv1.RunRequest, nucleusv1.RunResponse]) error {
	ctx := stream.Context()
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return errdefs.InvalidArgument("the first Run message must carry start")
	}
	if start.GetDetach() {
		c, err := s.d.Create(ctx, id, start.GetSpec(), core.CreateOptions{Start: true})
		if err != nil {
			return err
		}
		return stream.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Container{Container: c}})
	}
	in := pumpInput(ctx, func() ([]byte, bool, uint32, error) {
		m, err := stream.Recv()
		return m.GetStdin(), m.GetCloseStdin(), m.GetSignal(), err
	})
	rio := core.RunIO{
		Signals: in.signals,
		Started: func(c *nucleusv1.Container) error {
			return stream.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Container{Container: c}})
		},
		Output: func(st nucleusv1.LogStream, data []byte) error {
			if st == nucleusv1.LogStream_LOG_STREAM_STDERR {
				return stream.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Stderr{Stderr: data}})
			}
			return stream.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Stdout{Stdout: data}})
		},
	}
	if start.GetSpec().GetOpenStdin() {
		rio.Stdin = in.pr
	}
	c, err := s.d.RunAttached(ctx, id, start.GetSpec(), rio)
	if ex := core.CommandExit(err); ex != nil {
		return stream.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Exit{Exit: ex}})
	}
	if err != nil {
		return err
	}
	return stream.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Exit{Exit: c.GetExit()}})
}

// Logs implements nucleusv1.NucleusServer.
func (s *Service) Logs(req *nucleusv1.LogsRequest, stream grpc.ServerStreamingServer[nucleusv1.LogsResponse]) error {
	ctx := stream.Context()
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	o := core.LogOptions{Follow: req.GetFollow(), Tail: -1, Streams: req.GetStreams()}
	if req.Tail != nil {
		if req.GetTail() < 0 {
			o.Tail = -1
		} else {
			o.Tail = int(req.GetTail())
		}
	}
	if req.GetSince() != nil {
		o.Since = req.GetSince().AsTime()
	}
	var batch []*nucleusv1.LogEntry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := stream.Send(&nucleusv1.LogsResponse{Entries: batch})
		batch = nil
		return err
	}
	err = s.d.Logs(ctx, id, req.GetId(), o, func(e *nucleusv1.LogEntry) error {
		if !req.GetTimestamps() {
			e.Time = nil
		}
		batch = append(batch, e)
		if len(batch) >= logBatch || o.Follow {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// lockedSender serialises sends from the stdout and stderr copiers.
type lockedSender struct {
	mu   sync.Mutex
	send func(*nucleusv1.ExecResponse) error
}

func (l *lockedSender) writer(stderr bool) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		data := append([]byte(nil), p...)
		msg := &nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Stdout{Stdout: data}}
		if stderr {
			msg = &nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Stderr{Stderr: data}}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if err := l.send(msg); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Exec implements nucleusv1.NucleusServer.
func (s *Service) Exec(stream grpc.BidiStreamingServer[nucleusv1.ExecRequest, nucleusv1.ExecResponse]) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	id, err := caller(ctx)
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
	if t := start.GetTimeout(); t != nil && t.AsDuration() > 0 {
		var tcancel context.CancelFunc
		ctx, tcancel = context.WithTimeout(ctx, t.AsDuration())
		defer tcancel()
	}
	in := pumpInput(ctx, func() ([]byte, bool, uint32, error) {
		m, err := stream.Recv()
		if err != nil {
			cancel() // a vanished client ends its exec
		}
		return m.GetStdin(), m.GetCloseStdin(), m.GetSignal(), err
	})
	go func() { // exec'd processes get signals by killing the exec
		for {
			select {
			case <-ctx.Done():
				return
			case <-in.signals:
				cancel()
			}
		}
	}()
	var stdin io.Reader
	if start.GetStdin() {
		stdin = in.pr
	}
	out := &lockedSender{send: stream.Send}
	code, err := s.d.Exec(ctx, id, start.GetId(), core.ExecRequest{Args: start.GetArgs(), Env: start.GetEnv(), User: start.GetUser(), Cwd: start.GetCwd()},
		stdin, out.writer(false), out.writer(true))
	if ex := core.CommandExit(err); ex != nil {
		return out.send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Exit{Exit: ex}})
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && stream.Context().Err() == nil {
			return out.send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Exit{Exit: &nucleusv1.ExitStatus{ExitCode: 137, Signal: 9, Reason: "killed", Message: "exec ended by timeout or signal"}}})
		}
		return err
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	return stream.Send(&nucleusv1.ExecResponse{Msg: &nucleusv1.ExecResponse_Exit{Exit: &nucleusv1.ExitStatus{ExitCode: int32(code), Reason: "exited"}}})
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
		Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: int32(res.ExitCode),
		StdoutTruncated: res.StdoutTruncated, StderrTruncated: res.StderrTruncated, TimedOut: res.TimedOut,
	}, nil
}

// Stats implements nucleusv1.NucleusServer.
func (s *Service) Stats(req *nucleusv1.StatsRequest, stream grpc.ServerStreamingServer[nucleusv1.StatsResponse]) error {
	ctx := stream.Context()
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	interval := defaultStatsInterval
	if iv := req.GetInterval(); iv != nil && iv.AsDuration() > 0 {
		interval = max(iv.AsDuration(), minStatsInterval)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		ids := req.GetIds()
		if len(ids) == 0 {
			cs, err := s.d.List(id, core.ListFilter{States: []nucleusv1.ContainerState{
				nucleusv1.ContainerState_CONTAINER_STATE_RUNNING, nucleusv1.ContainerState_CONTAINER_STATE_PAUSED,
			}})
			if err != nil {
				return err
			}
			for _, c := range cs {
				ids = append(ids, c.GetId())
			}
		}
		resp := &nucleusv1.StatsResponse{}
		for _, cid := range ids {
			st, err := s.d.Stats(ctx, id, cid)
			if err != nil {
				if len(req.GetIds()) > 0 {
					return err
				}
				continue // it exited meanwhile
			}
			resp.Stats = append(resp.Stats, st)
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
		if !req.GetStream() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// LatestSeqHeader is the Events response header carrying the sequence
// after which the subscription delivers every event, sent once the
// subscription is registered and before any event.
const LatestSeqHeader = "nucleus-latest-seq"

// Events implements nucleusv1.NucleusServer.
func (s *Service) Events(req *nucleusv1.EventsRequest, stream grpc.ServerStreamingServer[nucleusv1.EventsResponse]) error {
	ctx := stream.Context()
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	f := core.EventFilter{ContainerID: req.GetContainerIds(), Types: req.GetTypes(), Visible: s.d.EventVisible(id),
		Registered: func(latest uint64) error {
			return stream.SendHeader(metadata.Pairs(LatestSeqHeader, strconv.FormatUint(latest, 10)))
		}}
	if req.SinceSequence != nil {
		since := req.GetSinceSequence()
		f.Since = &since
	}
	err = s.d.Events(ctx, f, func(ev *nucleusv1.Event, lost bool) error {
		return stream.Send(&nucleusv1.EventsResponse{Event: ev, EventsLost: lost})
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}
