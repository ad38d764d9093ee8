package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestCallsWaitForRecovery: before Ready closes, reads are answered at once,
// a call that acts (Delete) waits — Unavailable when its deadline ends
// first — and goes through once Ready closes.
func TestCallsWaitForRecovery(t *testing.T) {
	ready := make(chan struct{})
	c := serveWith(t, Options{Ready: ready})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Version(ctx, &nucleusv1.VersionRequest{}); err != nil {
		t.Fatalf("Version during recovery: %v", err)
	}
	short, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := c.Delete(short, &nucleusv1.DeleteRequest{Id: "x"})
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
