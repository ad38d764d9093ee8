package service

import (
	"context"
	"errors"
	"io"
	"strconv"
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
	resize  chan *nucleusv1.TerminalSize
	// closed is closed when the client asked for stdin's end (close_stdin),
	// before pr reports EOF; a hang-up does not close it.
	closed chan struct{}
}

// inputMsg is what one client message of an attached stream carries.
type inputMsg struct {
	stdin      []byte
	closeStdin bool
	signal     uint32
	resize     *nucleusv1.TerminalSize
}

func pumpInput(ctx context.Context, recv func() (inputMsg, error)) *input {
	pr, pw := io.Pipe()
	in := &input{pr: pr, signals: make(chan uint32, 8), resize: make(chan *nucleusv1.TerminalSize, 1), closed: make(chan struct{})}
	go func() {
		defer pw.Close()
		asked := false // close_stdin seen; this goroutine alone closes in.closed
		for {
			m, err := recv()
			if err != nil {
				return
			}
			data, closeStdin, sig := m.stdin, m.closeStdin, m.signal
			switch {
			case m.resize != nil:
				select {
				case in.resize <- m.resize:
				default: // the previous one is still pending: keep the newest
					select {
					case <-in.resize:
					default:
					}
					in.resize <- m.resize
				}
			case closeStdin:
				if !asked {
					asked = true
					close(in.closed)
				}
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
	in := pumpInput(ctx, func() (inputMsg, error) {
		m, err := stream.Recv()
		return inputMsg{stdin: m.GetStdin(), closeStdin: m.GetCloseStdin(), signal: m.GetSignal(), resize: m.GetResize()}, err
	})
	rio := core.RunIO{
		Signals: in.signals, Resize: in.resize,
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
		stats, err := s.d.StatsSample(ctx, id, req.GetIds())
		if err != nil {
			return err
		}
		resp := &nucleusv1.StatsResponse{Stats: stats}
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
