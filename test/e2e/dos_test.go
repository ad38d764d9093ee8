package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// doDoSCall runs the child calls that hold things open for the DoS tests.
func doDoSCall(ctx context.Context, c *client.Client, call childCall) (childResult, error) {
	var r childResult
	switch call.Op {
	case "start":
		_, err := c.Start(ctx, call.ID)
		return r, err
	case "follow": // Count follow streams of call.ID, each held open
		var open []context.CancelFunc // never called: the streams stay open until the child exits
		for range call.Count {
			sctx, cancel := context.WithCancel(ctx)
			open = append(open, cancel)
			stream, err := c.API().Logs(sctx, &nucleusv1.LogsRequest{Id: call.ID, Follow: true})
			if err == nil {
				_, err = stream.Recv() // the container's first line, or the refusal
			}
			switch {
			case err == nil:
				r.OK++
			case errors.Is(errdefs.FromGRPC(err), errdefs.ErrResourceExhausted):
				r.Refused++
				if r.Error == "" {
					r.Error = err.Error()
				}
				cancel()
			default:
				cancel()
				return r, errdefs.FromGRPC(err)
			}
		}
		return r, nil
	case "conns": // Count raw connections; those the daemon closes at once count as refused
		socket := strings.TrimPrefix(c.Address(), "unix://")
		var conns []net.Conn
		for range call.Count {
			conn, err := net.Dial("unix", socket)
			if err != nil {
				r.Refused++
				continue
			}
			conns = append(conns, conn)
		}
		time.Sleep(time.Second)
		buf := make([]byte, 4096)
		for _, conn := range conns {
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			for {
				_, err := conn.Read(buf) // an accepted connection gets the server's SETTINGS
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					r.OK++
					break
				}
				if err != nil {
					r.Refused++
					conn.Close()
					break
				}
			}
		}
		return r, nil
	}
	return r, fmt.Errorf("unknown op %q", call.Op)
}

// heldChild is a child process, running as another uid, that holds what
// its calls opened until stop.
type heldChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// holdAsUser runs calls as uid/gid in a child process up to its "hold" call
// and returns their results; stop ends the child.
func holdAsUser(t *testing.T, socket string, uid, gid uint32, calls ...childCall) ([]childResult, *heldChild) {
	t.Helper()
	bin := childBinary(t)
	req, _ := json.Marshal(childRequest{Socket: socket, Calls: append(calls, childCall{Op: "hold"})})
	h := &heldChild{cmd: exec.Command(bin)}
	h.cmd.Env = []string{childEnv + "=" + string(req)}
	h.cmd.Dir = "/"
	h.cmd.Stderr = os.Stderr
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{gid}}}
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child's own CPU (a flood's client side) must not be what the
	// daemon's latency is measured against on a 2-core machine.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, h.cmd.Process.Pid, 19)
	t.Cleanup(h.stop)
	h.out = bufio.NewReader(stdout)
	line, err := h.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("child as uid %d: %v", uid, err)
	}
	var results []childResult
	if err := json.Unmarshal(line, &results); err != nil {
		t.Fatalf("child output %q: %v", line, err)
	}
	return results, h
}

func (h *heldChild) stop() {
	if h.stdin != nil {
		h.stdin.Close()
		h.stdin = nil
		done := make(chan struct{})
		go func() { _ = h.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = h.cmd.Process.Kill()
			<-done
		}
	}
}

// daemonInotify counts nucleusd's inotify instances.
func daemonInotify(t *testing.T, d *Daemon) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && target == "anon_inode:inotify" {
			n++
		}
	}
	return n
}

// daemonRSS is nucleusd's resident set in bytes.
func daemonRSS(t *testing.T, d *Daemon) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// psLatencies times n root List calls (what `nucleusctl ps` sends) and
// returns the p50 and p99.
func psLatencies(t *testing.T, ctx context.Context, c *client.Client, n int) (p50, p99 time.Duration) {
	t.Helper()
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := c.List(ctx, &nucleusv1.ListRequest{View: nucleusv1.ListView_LIST_VIEW_SUMMARY}); err != nil {
			t.Fatalf("root ps: %v", err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[n/2], ds[(n*99+99)/100-1]
}

// psLatenciesFor is psLatencies for a while rather than a count.
func psLatenciesFor(t *testing.T, ctx context.Context, c *client.Client, d time.Duration) (p50, p99 time.Duration) {
	t.Helper()
	var ds []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		start := time.Now()
		if _, err := c.List(ctx, &nucleusv1.ListRequest{View: nucleusv1.ListView_LIST_VIEW_SUMMARY}); err != nil {
			t.Fatalf("root ps: %v", err)
		}
		ds = append(ds, time.Since(start))
		time.Sleep(5 * time.Millisecond)
	}
	slices.Sort(ds)
	n := len(ds)
	t.Logf("%d ps calls", n)
	return ds[n/2], ds[(n*99+99)/100-1]
}
