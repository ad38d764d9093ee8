package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// RunOptions are the streams of an attached Run.
type RunOptions struct {
	// Stdin, when set, is forwarded to the process (spec.open_stdin is set
	// for you) and the process's stdin is closed when it ends.
	Stdin io.Reader
	// Stdout and Stderr receive the process's output as it arrives; nil
	// discards it.
	Stdout, Stderr io.Writer
	// Signals carries signal numbers to forward to the process (Ctrl-C: 2).
	Signals <-chan uint32
	// Resize carries terminal sizes for a spec.tty container.
	Resize <-chan *nucleusv1.TerminalSize
}

// Run creates and starts a container from spec, streams its output until the
// process exits and returns how it ended and the container's id. The id is
// also returned with an error once the container exists (for example when
// ctx is cancelled to stop waiting: the container keeps running).
func (c *Client) Run(ctx context.Context, spec *nucleusv1.ContainerSpec, opts RunOptions) (*nucleusv1.ExitStatus, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Stdin != nil {
		spec = proto.CloneOf(spec)
		spec.OpenStdin = true
	}
	stream, err := c.api.Run(ctx)
	if err != nil {
		return nil, "", c.fromGRPC(err)
	}
	start := &nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_Start{Start: &nucleusv1.RunStart{Spec: spec}}}
	if err := stream.Send(start); err != nil {
		return nil, "", c.recvError(func() error { _, err := stream.Recv(); return err }, err)
	}
	send := lockedSend(stream.Send)
	go pumpResize(ctx, opts.Resize, func(ts *nucleusv1.TerminalSize) error {
		return send(&nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_Resize{Resize: ts}})
	})
	go pumpInput(ctx, opts.Stdin, opts.Signals, inputSender{
		stdin: func(b []byte) error {
			return send(&nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_Stdin{Stdin: b}})
		},
		close: func() error {
			return send(&nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_CloseStdin{CloseStdin: true}})
		},
		signal: func(sig uint32) error {
			return send(&nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_Signal{Signal: sig}})
		},
	})
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	var id string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, id, protocolError("run stream ended without an exit status")
		}
		if err != nil {
			return nil, id, c.fromGRPC(err)
		}
		switch m := resp.GetMsg().(type) {
		case *nucleusv1.RunResponse_Container:
			id = m.Container.GetId()
		case *nucleusv1.RunResponse_Stdout:
			if _, err := stdout.Write(m.Stdout); err != nil {
				return nil, id, fmt.Errorf("write stdout: %w", err)
			}
		case *nucleusv1.RunResponse_Stderr:
			if _, err := stderr.Write(m.Stderr); err != nil {
				return nil, id, fmt.Errorf("write stderr: %w", err)
			}
		case *nucleusv1.RunResponse_Exit:
			return m.Exit, id, nil
		}
	}
}

// RunDetached creates and starts a container from spec and returns it once
// started, without streaming its output.
func (c *Client) RunDetached(ctx context.Context, spec *nucleusv1.ContainerSpec) (*nucleusv1.Container, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.Run(ctx)
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	start := &nucleusv1.RunRequest{Msg: &nucleusv1.RunRequest_Start{Start: &nucleusv1.RunStart{Spec: spec, Detach: true}}}
	if err := stream.Send(start); err != nil {
		return nil, c.recvError(func() error { _, err := stream.Recv(); return err }, err)
	}
	if err := stream.CloseSend(); err != nil {
		return nil, c.fromGRPC(err)
	}
	var ctr *nucleusv1.Container
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if ctr == nil {
				return nil, protocolError("detached run ended without the container")
			}
			return ctr, nil
		}
		if err != nil {
			return nil, c.fromGRPC(err)
		}
		if m, ok := resp.GetMsg().(*nucleusv1.RunResponse_Container); ok {
			ctr = m.Container
		}
	}
}

// recvError turns a failed Send into the stream's real status: gRPC reports
// a server-side failure as io.EOF on Send, and the status on the next Recv.
func (c *Client) recvError(recv func() error, sendErr error) error {
	if !errors.Is(sendErr, io.EOF) {
		return c.fromGRPC(sendErr)
	}
	if err := recv(); err != nil && !errors.Is(err, io.EOF) {
		return c.fromGRPC(err)
	}
	return protocolError("stream closed by the daemon")
}
