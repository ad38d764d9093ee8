package e2e

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/client"
)

// startUpload begins a WriteFile of path fed from a pipe, writes n bytes
// into it and leaves it open; the call's error arrives on the channel.
func startUpload(ctx context.Context, c *client.Client, id, path string, n int) (*io.PipeWriter, <-chan error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := c.WriteFile(ctx, id, path, pr, client.FileOptions{})
		done <- err
	}()
	_, _ = pw.Write(make([]byte, n))
	return pw, done
}

// waitClean waits (bounded) until container id has no helper process and
// /tmp holds no half-written file.
func waitClean(t *testing.T, ctx context.Context, c *client.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs := helperProcs(t, ctx, c, id)
		ls := execOut(t, ctx, c, id, "ls", "-A", "/tmp")
		if procs == 0 && ls == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %d helper processes, /tmp holds %q", procs, ls)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestE2EFilesCancelAndDaemonKill: a client that cancels mid-upload or
// mid-download, one that half-closes, and a nucleusd killed with -9 in the
// middle of an upload leave no file, no temporary file and no helper
// process behind, and nothing hangs.
func TestE2EFilesCancelAndDaemonKill(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 240*time.Second)
	id := running(t, c, ctx, "sleep 600").GetId()

	// Cancel mid-upload.
	uctx, cancel := context.WithCancel(ctx)
	pw, done := startUpload(uctx, c, id, "/tmp/half", 3<<20)
	cancel()
	_ = pw.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled upload succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled upload hangs")
	}
	waitClean(t, ctx, c, id)

	// An upload whose reader fails: cancelled by the client, nothing kept.
	pr, pw2 := io.Pipe()
	go func() {
		_, _ = pw2.Write(make([]byte, 1<<20))
		_ = pw2.CloseWithError(errors.New("the source broke"))
	}()
	if _, err := c.WriteFile(ctx, id, "/tmp/broken", pr, client.FileOptions{}); err == nil || !strings.Contains(err.Error(), "the source broke") {
		t.Fatalf("an upload whose reader failed: %v", err)
	}
	waitClean(t, ctx, c, id)

	// Cancel mid-download of a large file.
	execOut(t, ctx, c, id, "/bin/sh", "-c", "head -c 50000000 /dev/urandom > /tmp/big")
	dctx, dcancel := context.WithCancel(ctx)
	_, err := c.ReadFile(dctx, id, "/tmp/big", writerFunc(func(p []byte) (int, error) {
		dcancel()
		return len(p), nil
	}))
	if err == nil {
		t.Fatal("a cancelled download succeeded")
	}
	execOut(t, ctx, c, id, "rm", "/tmp/big")
	waitClean(t, ctx, c, id)

	// kill -9 of nucleusd mid-upload; the restarted daemon serves again.
	pw, done = startUpload(ctx, c, id, "/tmp/killed", 2<<20)
	d.Kill9()
	// The source goes on: the next send finds the connection gone.
	go func() {
		for range 64 {
			if _, err := pw.Write(make([]byte, 1<<20)); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("an upload to a killed daemon succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("an upload to a killed daemon hangs")
	}
	d.Start()
	c = d.Client()
	waitClean(t, ctx, c, id)
	if _, err := c.WriteFile(ctx, id, "/tmp/after", strings.NewReader("ok"), client.FileOptions{}); err != nil {
		t.Fatalf("WriteFile after the restart: %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
