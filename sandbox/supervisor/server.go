package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// maxRequest bounds a request line.
const maxRequest = 64 << 10

// connTracker remembers open connections so they can be closed at exit.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// listen creates supervisor.sock, mode 0600, on the filesystem (never an
// abstract socket: those are reachable from any process in the network
// namespace).
func (s *supervisor) listen() (*net.UnixListener, error) {
	path := s.spec.path(SocketFile)
	_ = os.Remove(path)
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false) // removed explicitly, before the pid file
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func (s *supervisor) serve(ln *net.UnixListener) {
	conns := &s.conns
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		conns.mu.Lock()
		conns.conns[c] = struct{}{}
		conns.wg.Add(1)
		conns.mu.Unlock()
		go func() {
			defer func() {
				conns.mu.Lock()
				delete(conns.conns, c)
				conns.mu.Unlock()
				c.Close()
				conns.wg.Done()
			}()
			s.handle(c)
		}()
	}
}

// closeServer stops accepting, lets answers in flight go out, then closes
// what is left (stdin streams).
func (s *supervisor) closeServer(ln *net.UnixListener) {
	conns := &s.conns
	_ = ln.Close()
	done := make(chan struct{})
	go func() { conns.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(time.Second):
	}
	conns.mu.Lock()
	for c := range conns.conns {
		_ = c.Close()
	}
	conns.mu.Unlock()
	<-done
}

// peerAllowed admits root and the supervisor's own uid.
func peerAllowed(c *net.UnixConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return false
	}
	return cred.Uid == 0 || int(cred.Uid) == os.Getuid()
}

func (s *supervisor) handle(c *net.UnixConn) {
	if !peerAllowed(c) {
		_ = writeJSONLine(c, Response{Error: "permission denied", Kind: "permission_denied"})
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(io.LimitReader(c, maxRequest), 4096)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		_ = writeJSONLine(c, Response{Error: "bad request: " + err.Error(), Kind: "invalid_argument"})
		return
	}
	s.log.Debug("request", zap.String("op", req.Op))
	if req.Op == OpStdin {
		s.handleStdin(c, io.MultiReader(br, c), req)
		return
	}
	// The context ends when the client hangs up (a vanished daemon).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, c)
		cancel()
	}()
	st, err := s.dispatch(ctx, req)
	resp := Response{OK: err == nil}
	if err != nil {
		resp.Error, resp.Kind = err.Error(), kindName(err)
	} else {
		resp.Status = &st
	}
	_ = writeJSONLine(c, resp)
}

func (s *supervisor) dispatch(ctx context.Context, req Request) (Status, error) {
	switch req.Op {
	case OpStatus:
	case OpStart:
		if err := s.start(ctx); err != nil {
			return Status{}, err
		}
	case OpWait:
		select {
		case <-s.done:
		case <-ctx.Done():
			return Status{}, ctx.Err()
		}
	case OpKill:
		if req.Signal < 1 || req.Signal > 64 {
			return Status{}, errdefs.InvalidArgument("signal %d out of range", req.Signal)
		}
		if err := s.kill(ctx, unix.Signal(req.Signal), req.All); err != nil {
			return Status{}, err
		}
	case OpStop:
		if req.Signal < 0 || req.Signal > 64 || req.Grace < 0 {
			return Status{}, errdefs.InvalidArgument("bad stop request")
		}
		if err := s.stop(ctx, unix.Signal(req.Signal), req.Grace); err != nil {
			return Status{}, err
		}
	case OpResize:
		if !s.spec.Terminal {
			return Status{}, failedPrecondition("container %s has no terminal", s.spec.ID)
		}
		s.resize(req.Rows, req.Cols)
	default:
		return Status{}, errdefs.InvalidArgument("unknown op %q", req.Op)
	}
	return s.status(), nil
}

func (s *supervisor) handleStdin(c *net.UnixConn, src io.Reader, req Request) {
	if s.stdin == nil {
		_ = writeJSONLine(c, Response{Error: "container was not created with open stdin", Kind: "failed_precondition"})
		return
	}
	if !s.stdin.attach() {
		_ = writeJSONLine(c, Response{Error: errStdinTaken.Error(), Kind: "failed_precondition"})
		return
	}
	st := s.status()
	if err := writeJSONLine(c, Response{OK: true, Status: &st}); err != nil {
		s.stdin.forward(eofReader{}, req.KeepOpen)
		return
	}
	s.stdin.forward(src, req.KeepOpen)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func writeJSONLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
