package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Client talks to the supervisor whose directory is Dir. It holds no
// connection: every call dials the socket, so a Client made after a daemon
// restart works like the one before it.
type Client struct {
	dir string
}

// NewClient returns a client for the supervisor directory dir.
func NewClient(dir string) *Client { return &Client{dir: dir} }

// Dir is the supervisor's directory.
func (c *Client) Dir() string { return c.dir }

// Running reports the pid of the supervisor of dir if it is alive: the pid
// file names a live process whose command line carries dir's spec.json or
// one of whose threads works in dir (a recycled pid or a zombie has
// neither).
func Running(dir string) (int, bool) {
	pid, why := inspect(dir)
	return pid, why == ""
}

// WhyNotRunning describes what Running found in dir when it said no (the
// pid file, and the process it names), for the log line of a supervisor
// declared gone; "" when it is running.
func WhyNotRunning(dir string) string {
	_, why := inspect(dir)
	return why
}

// inspect returns the pid of dir's live supervisor, or why there is none.
func inspect(dir string) (int, string) {
	data, err := os.ReadFile(filepath.Join(dir, PidFile))
	if err != nil {
		return 0, "no pid file: " + err.Error()
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Sprintf("pid file holds %q", data)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, fmt.Sprintf("pid %d: no such process (%v)", pid, err)
	}
	want := filepath.Join(dir, SpecFile)
	for _, arg := range bytes.Split(cmdline, []byte{0}) {
		if string(arg) == want {
			return pid, ""
		}
	}
	if inDir(pid, filepath.Clean(dir)) {
		return pid, ""
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return 0, fmt.Sprintf("pid %d alive but not this supervisor: cmdline %q, cwd %q (%v), want %q", pid,
		bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), cwd, err, filepath.Clean(dir))
}

// inDir reports whether any thread of process pid has dir as its working
// directory. Not only the main thread's (/proc/pid/cwd): gVisor's code in
// a supervisor may run a goroutine that unshares its thread's filesystem
// attributes and joins a sandbox's mount namespace, and when the Go
// runtime gave it the main thread, /proc/pid/cwd no longer names the
// supervisor's directory although the process is its supervisor.
func inDir(pid int, dir string) bool {
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && cwd == dir {
		return true
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, t := range tasks {
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/task/%s/cwd", pid, t.Name())); err == nil && cwd == dir {
			return true
		}
	}
	return false
}

// Status asks for the container's state.
func (c *Client) Status(ctx context.Context) (Status, error) {
	return c.call(ctx, Request{Op: OpStatus})
}

// Start starts the created container.
func (c *Client) Start(ctx context.Context) (Status, error) {
	return c.call(ctx, Request{Op: OpStart})
}

// Wait blocks until the container has exited; Status.Exit is set.
func (c *Client) Wait(ctx context.Context) (Status, error) {
	return c.call(ctx, Request{Op: OpWait})
}

// Kill sends sig to the init process, or to all processes.
func (c *Client) Kill(ctx context.Context, sig unix.Signal, all bool) error {
	_, err := c.call(ctx, Request{Op: OpKill, Signal: int(sig), All: all})
	return err
}

// Stop sends sig (0: SIGTERM), then SIGKILL after grace, and returns once
// the container has exited.
func (c *Client) Stop(ctx context.Context, sig unix.Signal, grace time.Duration) (Status, error) {
	return c.call(ctx, Request{Op: OpStop, Signal: int(sig), Grace: grace})
}

// Stdin attaches to the container's stdin: bytes written go to the
// container; Close ends the attachment and, unless keepOpen, closes the
// container's stdin.
func (c *Client) Stdin(ctx context.Context, keepOpen bool) (io.WriteCloser, error) {
	conn, br, err := c.request(ctx, Request{Op: OpStdin, KeepOpen: keepOpen})
	if err != nil {
		return nil, err
	}
	if _, err := readResponse(br, c.dir); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

// Resize sets a TTY container's terminal size (0 keeps a side; sides
// above 4096 are clamped); the container's foreground process gets
// SIGWINCH.
func (c *Client) Resize(ctx context.Context, rows, cols uint16) error {
	_, err := c.call(ctx, Request{Op: OpResize, Rows: rows, Cols: cols})
	return err
}

func (c *Client) call(ctx context.Context, req Request) (Status, error) {
	conn, br, err := c.request(ctx, req)
	if err != nil {
		return Status{}, err
	}
	defer conn.Close()
	// Hang up when ctx ends; the supervisor notices and gives up waiting.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	st, err := readResponse(br, c.dir)
	if err != nil && ctx.Err() != nil {
		return Status{}, ctx.Err()
	}
	return st, err
}

func (c *Client) request(ctx context.Context, req Request) (*net.UnixConn, *bufio.Reader, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", filepath.Join(c.dir, SocketFile))
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("supervisor %s not reachable: %v: %w", c.dir, err, errdefs.ErrUnavailable)
	}
	conn := nc.(*net.UnixConn)
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if err := writeJSONLine(conn, req); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("supervisor %s: %v: %w", c.dir, err, errdefs.ErrUnavailable)
	}
	return conn, bufio.NewReader(conn), nil
}

func readResponse(br *bufio.Reader, dir string) (Status, error) {
	line, err := br.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return Status{}, errdefs.DeadlineExceeded("supervisor %s: no answer in time", dir)
		}
		return Status{}, fmt.Errorf("supervisor %s hung up: %v: %w", dir, err, errdefs.ErrUnavailable)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Status{}, fmt.Errorf("supervisor %s: bad answer: %v", dir, err)
	}
	if !resp.OK {
		return Status{}, errorFromResponse(&resp)
	}
	if resp.Status == nil {
		return Status{}, fmt.Errorf("supervisor %s answered without a status", dir)
	}
	return *resp.Status, nil
}
