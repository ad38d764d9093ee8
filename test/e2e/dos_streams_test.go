package e2e

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestE2EDoSFollowStreams: a tenant opening 1,000 `logs -f` streams gets
// [limits] max_streams_per_uid of them and RESOURCE_EXHAUSTED for the rest,
// while root's `logs -f` still works and the daemon holds one inotify
// instance, so the host's inotify_init1 works too (one per stream used to
// exhaust root's 128).
func TestE2EDoSFollowStreams(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[api]\nsocket_group = \"nogroup\"\n"})
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	rootCt, err := c.Create(ctx, sh("echo root-line; sleep 300"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, rootCt.GetId()); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	res, child := holdAsUser(t, d.Socket, nobody, nogroup,
		childCall{Op: "create", Spec: sh("echo tenant-line; sleep 300")},
		childCall{Op: "start"},
		childCall{Op: "follow", Count: 1000},
	)
	for _, r := range res[:2] {
		if r.Kind != "" {
			t.Fatalf("tenant setup: %+v", r)
		}
	}
	follow := res[2]
	t.Logf("tenant: %d follow streams open, %d refused, in %v", follow.OK, follow.Refused, time.Since(start))
	if follow.Kind != "" || follow.OK != 64 || follow.Refused != 1000-64 {
		t.Fatalf("tenant follows: %+v; want 64 open (max_streams_per_uid) and 936 refused", follow)
	}
	if !strings.Contains(follow.Error, "max_streams_per_uid") {
		t.Errorf("refusal %q does not name the config key", follow.Error)
	}

	// Root still follows its own container's log.
	lctx, lcancel := context.WithTimeout(ctx, 20*time.Second)
	defer lcancel()
	got := make(chan string, 1)
	go func() {
		_ = c.Logs(lctx, &nucleusv1.LogsRequest{Id: rootCt.GetId(), Follow: true}, func(e *nucleusv1.LogEntry) error {
			got <- string(e.GetContent())
			lcancel()
			return nil
		})
	}()
	select {
	case line := <-got:
		if line != "root-line" {
			t.Fatalf("root's logs -f: %q", line)
		}
	case <-lctx.Done():
		t.Fatal("root's logs -f saw nothing while the tenant held its streams")
	}
	// One shared inotify in the daemon; the host can still make its own.
	if n := daemonInotify(t, d); n > 1 {
		t.Errorf("nucleusd holds %d inotify instances with %d follow streams open; want 1", n, follow.OK)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("the host's inotify_init1 fails while the tenant follows: %v", err)
	}
	syscall.Close(fd)

	// Idle connections: the tenant tries 3,000 more; the daemon keeps
	// max_connections_per_uid of its connections (one is the first
	// child's) and closes the rest at once; root's ps stays fast.
	res, conns := holdAsUser(t, d.Socket, nobody, nogroup, childCall{Op: "conns", Count: 3000})
	t.Logf("tenant: %d idle connections kept, %d closed by the daemon", res[0].OK, res[0].Refused)
	if res[0].OK != 63 || res[0].Refused != 3000-63 {
		t.Errorf("tenant connections: %+v; want 63 kept (max_connections_per_uid 64, one held already) and the rest closed", res[0])
	}
	p50, p99 := psLatencies(t, ctx, c, 100)
	t.Logf("root ps with the tenant at its stream and connection limits: p50 %v, p99 %v", p50, p99)
	if p99 > 50*time.Millisecond {
		t.Errorf("root ps p99 %v with the tenant at its limits; want under 50ms", p99)
	}
	conns.stop()
	child.stop()
}
