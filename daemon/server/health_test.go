package server

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"nucleus.dev/nucleus/daemon/auth"
)

// TestHealthBothNamesFollowServing: "" and "nucleus.v1.Nucleus" are both
// NOT_SERVING until SetServing (the daemon is still starting), SERVING
// after it, NOT_SERVING again at Shutdown; other names are NOT_FOUND.
func TestHealthBothNamesFollowServing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv, hs := New(fakeService{}, Options{Creds: auth.PeerCredentials{}})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h := healthpb.NewHealthClient(conn)
	expect := func(phase string, want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		for _, name := range []string{"", "nucleus.v1.Nucleus"} {
			resp, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
			if err != nil || resp.GetStatus() != want {
				t.Errorf("%s: Check(%q) = %v, %v; want %v", phase, name, resp.GetStatus(), err, want)
			}
		}
	}
	expect("starting", healthpb.HealthCheckResponse_NOT_SERVING)
	SetServing(hs, true)
	expect("ready", healthpb.HealthCheckResponse_SERVING)
	if _, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nucleus.v1.Other"}); status.Code(err) != codes.NotFound {
		t.Errorf("Check(unknown) = %v, want NotFound", err)
	}
	hs.Shutdown()
	expect("stopping", healthpb.HealthCheckResponse_NOT_SERVING)
}
