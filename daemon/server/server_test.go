package server

import (
	"context"
	"fmt"
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
