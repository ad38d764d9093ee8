package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
)

type fakeService struct {
	nucleusv1.UnimplementedNucleusServer
}

func (fakeService) Version(ctx context.Context, _ *nucleusv1.VersionRequest) (*nucleusv1.VersionResponse, error) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errdefs.PermissionDenied("no identity in the handler")
	}
	return &nucleusv1.VersionResponse{Version: id.Principal()}, nil
}

func (fakeService) Get(context.Context, *nucleusv1.GetRequest) (*nucleusv1.GetResponse, error) {
	panic("boom")
}

func (fakeService) Delete(context.Context, *nucleusv1.DeleteRequest) (*nucleusv1.DeleteResponse, error) {
	return nil, errdefs.NotFound("no container %q", "x")
}

func serve(t *testing.T, p auth.Policy) nucleusv1.NucleusClient {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	srv, hs := New(fakeService{}, Options{Policy: p, Creds: auth.PeerCredentials{}, Observe: func(m string, _ codes.Code, _ time.Duration) {
		methods = append(methods, m)
	}})
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return nucleusv1.NewNucleusClient(conn)
}

func TestCallerIdentityReachesHandler(t *testing.T) {
	c := serve(t, auth.Policy{SocketGID: os.Getgid()})
	v, err := c.Version(context.Background(), &nucleusv1.VersionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("uid:%d", os.Getuid()); v.GetVersion() != want {
		t.Fatalf("handler saw %q, want %q", v.GetVersion(), want)
	}
}

func TestPanicBecomesInternalAndServerKeepsServing(t *testing.T) {
	c := serve(t, auth.Policy{SocketGID: -1})
	_, err := c.Get(context.Background(), &nucleusv1.GetRequest{Id: "x"})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("panicking handler: %v, want Internal", err)
	}
	if _, err := c.Version(context.Background(), &nucleusv1.VersionRequest{}); err != nil && status.Code(err) != codes.PermissionDenied {
		t.Fatalf("server after a panic: %v", err)
	}
}

func TestErrorKindsMapToCodes(t *testing.T) {
	c := serve(t, auth.Policy{SocketGID: -1})
	_, err := c.Delete(context.Background(), &nucleusv1.DeleteRequest{Id: "x"})
	if status.Code(err) != codes.NotFound || status.Convert(err).Message() != `no container "x"` {
		t.Fatalf("delete: %v, want NotFound with the core's message", err)
	}
}

func TestReadOnlyMethods(t *testing.T) {
	for m, want := range map[string]bool{
		"/nucleus.v1.Nucleus/Get": true, "/nucleus.v1.Nucleus/Logs": true, "/grpc.health.v1.Health/Check": true,
		"/nucleus.v1.Nucleus/Create": false, "/nucleus.v1.Nucleus/Delete": false, "/nucleus.v1.Nucleus/Exec": false,
	} {
		if readOnly(m) != want {
			t.Errorf("readOnly(%s) = %v, want %v", m, !want, want)
		}
	}
}

func (fakeService) Events(_ *nucleusv1.EventsRequest, stream grpc.ServerStreamingServer[nucleusv1.EventsResponse]) error {
	<-stream.Context().Done()
	return nil
}

// A caller past its stream limit is refused with ResourceExhausted; its
// streams ending frees the slots.
// serveWith serves fakeService with opts (policy and peer credentials
// filled in) on a fresh unix socket and returns a client of it.
func serveWith(t *testing.T, opts Options) nucleusv1.NucleusClient {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	opts.Policy, opts.Creds = auth.Policy{SocketGID: os.Getgid()}, auth.PeerCredentials{}
	srv, _ := New(fakeService{}, opts)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return nucleusv1.NewNucleusClient(conn)
}

func TestStreamLimitPerCaller(t *testing.T) {
	c := serveWith(t, Options{Streams: Limits{PerCaller: 3, Root: 3, Total: 10}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func() (context.CancelFunc, error) {
		sctx, scancel := context.WithCancel(ctx)
		s, err := c.Events(sctx, &nucleusv1.EventsRequest{})
		if err == nil {
			// The refusal arrives as the stream's status; an open
			// stream blocks in Recv, so give it a moment.
			rctx, rcancel := context.WithTimeout(sctx, 300*time.Millisecond)
			defer rcancel()
			errc := make(chan error, 1)
			go func() { _, err := s.Recv(); errc <- err }()
			select {
			case err = <-errc:
			case <-rctx.Done():
			}
		}
		return scancel, err
	}
	var cancels []context.CancelFunc
	for range 3 {
		cf, err := open()
		if err != nil {
			t.Fatalf("stream within the limit: %v", err)
		}
		cancels = append(cancels, cf)
	}
	cf, err := open()
	cf()
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "max_streams") {
		t.Fatalf("fourth stream: %v, want ResourceExhausted naming the key", err)
	}
	cancels[0]()
	time.Sleep(100 * time.Millisecond)
	cf, err = open()
	defer cf()
	if err != nil {
		t.Fatalf("stream after one ended: %v", err)
	}
	for _, c := range cancels[1:] {
		c()
	}
}

// Connections beyond a caller's limit are closed at once; root has its own
// limit and does not count towards the total.
func TestConnectionLimit(t *testing.T) {
	lim := newLimiter("connections", "max_connections", Limits{PerCaller: 2, Root: 3, Total: 3})
	var releases []func()
	for i, c := range []struct {
		caller string
		root   bool
		ok     bool
	}{{"uid:5", false, true}, {"uid:5", false, true}, {"uid:5", false, false}, {"uid:6", false, true},
		{"uid:7", false, false}, {"uid:0", true, true}, {"uid:0", true, true}, {"uid:0", true, true}, {"uid:0", true, false}} {
		r, err := lim.acquire(c.caller, c.root)
		if (err == nil) != c.ok {
			t.Fatalf("acquire %d (%s): %v, want ok=%v", i, c.caller, err, c.ok)
		}
		if err == nil {
			releases = append(releases, r)
		} else if !errors.Is(err, errdefs.ErrResourceExhausted) {
			t.Fatalf("acquire %d: %v, want ResourceExhausted", i, err)
		}
	}
	for _, r := range releases {
		r()
	}
	if lim.count("uid:5") != 0 || lim.total != 0 {
		t.Fatalf("slots left after release: %d, total %d", lim.count("uid:5"), lim.total)
	}

	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := New(fakeService{}, Options{Policy: auth.Policy{SocketGID: os.Getgid()}, Creds: auth.PeerCredentials{},
		Connections: Limits{PerCaller: 2, Root: 2, Total: 2}})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 2 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(100 * time.Millisecond)
	extra, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := io.ReadAll(extra); err != nil {
		t.Fatalf("the connection past the limit was not closed: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closing the connection past the limit took %v", d)
	}
}
