package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
)

// TestCallsWaitForRecovery: before Ready closes, reads are answered at once,
// a call that acts (Delete) waits — Unavailable when its deadline ends
// first — and goes through once Ready closes.
func TestCallsWaitForRecovery(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	srv, _ := New(fakeService{}, Options{Policy: auth.Policy{SocketGID: os.Getgid()}, Creds: auth.PeerCredentials{}, Ready: ready})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := nucleusv1.NewNucleusClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Version(ctx, &nucleusv1.VersionRequest{}); err != nil {
		t.Fatalf("Version during recovery: %v", err)
	}
	short, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = c.Delete(short, &nucleusv1.DeleteRequest{Id: "x"})
	scancel()
	if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
		t.Fatalf("Delete during recovery: %v, want it held until its deadline", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := c.Delete(ctx, &nucleusv1.DeleteRequest{Id: "x"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Delete answered before recovery finished: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(ready)
	select {
	case err := <-done:
		if status.Code(err) != codes.NotFound {
			t.Fatalf("Delete after recovery: %v, want the handler's NotFound", err)
		}
	case <-ctx.Done():
		t.Fatal("Delete still held after recovery finished")
	}
}
