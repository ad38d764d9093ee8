package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// ExecOptions describe an extra process in a running container and its
// streams.
type ExecOptions struct {
	// ID is the container's id or name.
	ID string
	// Args is the process argv. Required.
	Args []string
	// Env entries ("K=V") are added to the container's environment.
	Env []string
	// User to run as; nil: the container's user.
	User *nucleusv1.User
	// Cwd inside the container; empty: the container's cwd.
	Cwd string
	// Timeout kills the process after this long; zero: no limit.
	Timeout time.Duration
	// Stdin, when set, is forwarded and closed at its end.
	Stdin io.Reader
	// Stdout and Stderr receive the output as it arrives; nil discards it.
	Stdout, Stderr io.Writer
	// Signals carries signal numbers to forward to the process.
	Signals <-chan uint32
	// TTY runs the process on a terminal of TerminalSize (zero: 24x80);
	// its output, stderr included, arrives on Stdout. Each size on Resize
	// resizes it.
	TTY          bool
	TerminalSize *nucleusv1.TerminalSize
	Resize       <-chan *nucleusv1.TerminalSize
}

// Exec runs an extra process in a running container, streaming its output,
// and returns its exit code (128+signal when killed; 126/127 when it could
// not be run or was not found).
func (c *Client) Exec(ctx context.Context, opts ExecOptions) (int, error) {
	st, err := c.ExecStatus(ctx, opts)
	if err != nil {
		return 0, err
	}
	return int(st.GetExitCode()), nil
}

// ExecStatus is Exec returning the whole exit status (reason and message).
func (c *Client) ExecStatus(ctx context.Context, opts ExecOptions) (*nucleusv1.ExitStatus, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.Exec(ctx)
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	start := &nucleusv1.ExecStart{
		Id: opts.ID, Args: opts.Args, Env: opts.Env, User: opts.User, Cwd: opts.Cwd,
		Stdin: opts.Stdin != nil, Tty: opts.TTY, TerminalSize: opts.TerminalSize,
	}
	if opts.Timeout > 0 {
		start.Timeout = durationpb.New(opts.Timeout)
	}
	if err := stream.Send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Start{Start: start}}); err != nil {
		return nil, c.recvError(func() error { _, err := stream.Recv(); return err }, err)
	}
	var sendMu sync.Mutex // the input pump and the resizes send
	send := func(m *nucleusv1.ExecRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case ts := <-opts.Resize:
					if send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Resize{Resize: ts}}) != nil {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go pumpInput(ctx, opts.Stdin, opts.Signals, inputSender{
		stdin: func(b []byte) error {
			return send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Stdin{Stdin: b}})
		},
		close: func() error {
			return send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_CloseStdin{CloseStdin: true}})
		},
		signal: func(sig uint32) error {
			return send(&nucleusv1.ExecRequest{Msg: &nucleusv1.ExecRequest_Signal{Signal: sig}})
		},
	})
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, protocolError("exec stream ended without an exit status")
		}
		if err != nil {
			return nil, c.fromGRPC(err)
		}
		switch m := resp.GetMsg().(type) {
		case *nucleusv1.ExecResponse_Stdout:
			if _, err := stdout.Write(m.Stdout); err != nil {
				return nil, fmt.Errorf("write stdout: %w", err)
			}
		case *nucleusv1.ExecResponse_Stderr:
			if _, err := stderr.Write(m.Stderr); err != nil {
				return nil, fmt.Errorf("write stderr: %w", err)
			}
		case *nucleusv1.ExecResponse_Exit:
			return m.Exit, nil
		}
	}
}

// ExecSync runs an extra process to completion and returns its output.
func (c *Client) ExecSync(ctx context.Context, req *nucleusv1.ExecSyncRequest) (*nucleusv1.ExecSyncResponse, error) {
	resp, err := c.api.ExecSync(ctx, req)
	return resp, c.fromGRPC(err)
}
