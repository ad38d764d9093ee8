package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// AttachStreamOptions are the streams of Attach.
type AttachStreamOptions struct {
	// Stdin, when set, is written to the container's stdin (its terminal
	// for a TTY container); only one attachment at a time may write. Its
	// end closes the container's stdin only with CloseStdinAtEOF.
	Stdin io.Reader
	// CloseStdinAtEOF closes the container's stdin for good when Stdin
	// ends (EOF or a read error), as containerd's CloseIO does (not for a
	// TTY container).
	CloseStdinAtEOF bool
	// Stdout and Stderr receive the output from now on; nil discards it.
	Stdout, Stderr io.Writer
	// TerminalSize is applied at once, and each size on Resize later
	// (TTY containers).
	TerminalSize *nucleusv1.TerminalSize
	Resize       <-chan *nucleusv1.TerminalSize
	// Signals carries signal numbers for the container's init process.
	Signals <-chan uint32
	// Attached, when set, is called with the container once attached.
	Attached func(*nucleusv1.Container)
}

// Attach connects to a running container's stdio (AttachService) until it
// exits, and returns how it ended. Cancelling ctx detaches: the container
// keeps running.
func (c *Client) Attach(ctx context.Context, id string, opts AttachStreamOptions) (*nucleusv1.ExitStatus, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := nucleusv1.NewAttachServiceClient(c.conn).Attach(ctx)
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	start := &nucleusv1.AttachStart{Id: id, Stdin: opts.Stdin != nil, TerminalSize: opts.TerminalSize}
	if err := stream.Send(&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Start{Start: start}}); err != nil {
		return nil, c.recvError(func() error { _, err := stream.Recv(); return err }, err)
	}
	send := lockedSend(stream.Send)
	go pumpResize(ctx, opts.Resize, func(ts *nucleusv1.TerminalSize) error {
		return send(&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Resize{Resize: ts}})
	})
	go pumpInput(ctx, opts.Stdin, opts.Signals, inputSender{
		stdin: func(b []byte) error {
			return send(&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Stdin{Stdin: b}})
		},
		close: func() error {
			if !opts.CloseStdinAtEOF {
				return nil // the container's stdin stays open for the next attachment
			}
			return send(&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_CloseStdin{CloseStdin: true}})
		},
		signal: func(sig uint32) error {
			return send(&nucleusv1.AttachRequest{Msg: &nucleusv1.AttachRequest_Signal{Signal: sig}})
		},
	})
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, protocolError("attach stream ended without an exit status")
		}
		if err != nil {
			return nil, c.fromGRPC(err)
		}
		switch m := resp.GetMsg().(type) {
		case *nucleusv1.AttachResponse_Container:
			if opts.Attached != nil {
				opts.Attached(m.Container)
			}
		case *nucleusv1.AttachResponse_Stdout:
			if _, err := stdout.Write(m.Stdout); err != nil {
				return nil, fmt.Errorf("write stdout: %w", err)
			}
		case *nucleusv1.AttachResponse_Stderr:
			if _, err := stderr.Write(m.Stderr); err != nil {
				return nil, fmt.Errorf("write stderr: %w", err)
			}
		case *nucleusv1.AttachResponse_Exit:
			return m.Exit, nil
		}
	}
}
