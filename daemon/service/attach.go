package service

import (
	"google.golang.org/grpc"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/internal/errdefs"
)

// Attach implements nucleusv1.AttachServiceServer (attach.proto).
type Attach struct {
	nucleusv1.UnimplementedAttachServiceServer
	d *core.Daemon
}

// NewAttach returns the AttachService of d.
func NewAttach(d *core.Daemon) *Attach { return &Attach{d: d} }

// Attach streams the container's output from now on and forwards stdin,
// resizes and signals until the container exits (exit is the last
// message) or the client ends the call (the container keeps running).
func (a *Attach) Attach(stream grpc.BidiStreamingServer[nucleusv1.AttachRequest, nucleusv1.AttachResponse]) error {
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
		return errdefs.InvalidArgument("the first Attach message must carry start")
	}
	in := pumpInput(ctx, func() (inputMsg, error) {
		m, err := stream.Recv()
		if m.GetStart() != nil {
			return inputMsg{}, errdefs.InvalidArgument("start twice")
		}
		return inputMsg{stdin: m.GetStdin(), closeStdin: m.GetCloseStdin(), signal: m.GetSignal(), resize: m.GetResize()}, err
	})
	defer in.pr.Close()
	aio := core.AttachIO{
		Size: start.GetTerminalSize(), Resize: in.resize, Signals: in.signals,
		Attached: func(c *nucleusv1.Container) error {
			return stream.Send(&nucleusv1.AttachResponse{Msg: &nucleusv1.AttachResponse_Container{Container: c}})
		},
		Output: func(st nucleusv1.LogStream, data []byte) error {
			if st == nucleusv1.LogStream_LOG_STREAM_STDERR {
				return stream.Send(&nucleusv1.AttachResponse{Msg: &nucleusv1.AttachResponse_Stderr{Stderr: data}})
			}
			return stream.Send(&nucleusv1.AttachResponse{Msg: &nucleusv1.AttachResponse_Stdout{Stdout: data}})
		},
	}
	if start.GetStdin() {
		aio.Stdin, aio.StdinClosed = in.pr, in.closed
	}
	c, err := a.d.Attach(ctx, id, start.GetId(), aio)
	if err != nil {
		return err
	}
	return stream.Send(&nucleusv1.AttachResponse{Msg: &nucleusv1.AttachResponse_Exit{Exit: c.GetExit()}})
}
