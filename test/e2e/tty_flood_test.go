package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// supervisorRSS is the resident memory of container id's supervisor, in
// bytes.
func supervisorRSS(t *testing.T, d *Daemon, id string) int64 {
	t.Helper()
	pid, ok := supervisor.Running(filepath.Join(d.State, "supervisors", id))
	if !ok {
		t.Fatalf("no supervisor for %s", id)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb); err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestE2ETTYFlood: a TTY container floods its terminal (40 MB) while
// nobody is attached: the supervisor keeps reading the master, the log
// stays within log_max_bytes (rotation as for any output), the
// supervisor's memory does not grow with the output, and the container
// is still there to attach to.
func TestE2ETTYFlood(t *testing.T) {
	const logMax = 2 << 20
	d := StartDaemon(t, DaemonOptions{Config: fmt.Sprintf("[limits]\nlog_max_bytes = %d\n", logMax)})
	c := d.Client()
	ctx := ctxT(t, 240*time.Second)
	ct, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Tty: true, Args: []string{"/bin/sh", "-c",
		"sleep 2; yes flooding-the-terminal | head -c 40000000; echo; echo flood-done; sleep 600"}})
	if err != nil {
		t.Fatal(err)
	}
	id := ct.GetId()
	time.Sleep(time.Second)
	rssBefore := supervisorRSS(t, d, id)
	deadline := time.Now().Add(180 * time.Second)
	for {
		var tail strings.Builder
		if err := c.Logs(ctx, &nucleusv1.LogsRequest{Id: id, Tail: proto.Int64(3)}, func(e *nucleusv1.LogEntry) error {
			tail.Write(e.GetContent())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tail.String(), "flood-done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flood did not finish: log tail %q", tail.String())
		}
		time.Sleep(time.Second)
	}
	rssAfter := supervisorRSS(t, d, id)
	if rssAfter-rssBefore > 32<<20 {
		t.Errorf("supervisor RSS grew from %d to %d bytes during a 40 MB flood", rssBefore, rssAfter)
	}
	var logBytes int64
	logs, _ := filepath.Glob(filepath.Join(d.Root, "containers", id, "container.log*"))
	for _, p := range logs {
		if fi, err := os.Stat(p); err == nil {
			logBytes += fi.Size()
		}
	}
	if logBytes == 0 || logBytes > 2*logMax {
		t.Errorf("container logs hold %d bytes after a 40 MB flood, log_max_bytes %d", logBytes, logMax)
	}
	t.Logf("supervisor RSS %d -> %d KiB, logs %d bytes", rssBefore>>10, rssAfter>>10, logBytes)
	out := &lockedBuffer{}
	inR, inW := io.Pipe()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	att, done := attachAsync(actx, c, id, client.AttachStreamOptions{Stdin: inR, Stdout: out})
	awaitAttached(t, att, done)
	_, _ = inW.Write([]byte{3}) // Ctrl-C: the sleep ends, and with it sh
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("attach after the flood: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("Ctrl-C through attach did not end the container")
	}
}
