package containerdshim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/ttrpc"
	"google.golang.org/grpc"

	"nucleus.dev/nucleus/client"
)

// serve is the long-running shim: the listener start made is fd 3.
func serve(ctx context.Context, f *flags) error {
	logw := openShimLog(filepath.Join(f.bundle, "log"))
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level})).With("id", f.id, "namespace", f.namespace)
	lf := os.NewFile(3, "listener")
	l, err := net.FileListener(lf)
	lf.Close()
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	c, err := dialNucleusd(ctx, f.nucleusd)
	if err != nil {
		return err
	}
	defer c.Close()
	ttrpcAddr := os.Getenv("TTRPC_ADDRESS")
	if ttrpcAddr == "" && f.address != "" {
		ttrpcAddr = f.address + ".ttrpc"
	}
	events := newPublisher(ttrpcAddr, f.namespace, log)
	srv, err := ttrpc.NewServer(ttrpc.WithServerHandshaker(ttrpc.UnixSocketRequireSameUser()),
		ttrpc.WithUnaryServerInterceptor(callTimeout))
	if err != nil {
		return err
	}
	done := make(chan struct{})
	svc := NewService(f.namespace, c, events, log, func() {
		select {
		case <-done:
		default:
			close(done)
		}
	})
	taskapi.RegisterTaskService(srv, svc)
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, l) }()
	log.Info("serving", "address", l.Addr().String(), "nucleusd", f.nucleusd)
	select {
	case <-done:
	case <-sigs:
	case err := <-serveErr:
		log.Error("ttrpc server ended", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	events.close(10 * time.Second)
	_ = os.Remove(l.Addr().String())
	return nil
}

// callLimit bounds each task call but Wait: calls to nucleusd wait for it
// to come back (WaitForReady), so one that is gone for good must not hold
// containerd forever.
const callLimit = time.Minute

func callTimeout(ctx context.Context, unmarshal ttrpc.Unmarshaler, info *ttrpc.UnaryServerInfo, method ttrpc.Method) (any, error) {
	if strings.HasSuffix(info.FullMethod, "/Wait") {
		return method(ctx, unmarshal)
	}
	ctx, cancel := context.WithTimeout(ctx, callLimit)
	defer cancel()
	return method(ctx, unmarshal)
}

// dialNucleusd connects to nucleusd; calls wait while it restarts (gRPC
// would otherwise fail them at once while it backs off reconnecting).
func dialNucleusd(ctx context.Context, address string) (*client.Client, error) {
	return client.New(ctx, address, client.WithDialOptions(grpc.WithDefaultCallOptions(grpc.WaitForReady(true))))
}

// openShimLog opens containerd's log FIFO for the shim's own log lines
// (containerd copies them to its log). Writes never block the shim: a
// line that cannot be queued is dropped.
func openShimLog(path string) io.Writer {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return io.Discard
	}
	w := &droppingWriter{lines: make(chan []byte, 256)}
	go func() {
		for b := range w.lines {
			_, _ = f.Write(b)
		}
	}()
	return w
}

type droppingWriter struct{ lines chan []byte }

func (w *droppingWriter) Write(p []byte) (int, error) {
	select {
	case w.lines <- append([]byte(nil), p...):
	default:
	}
	return len(p), nil
}
