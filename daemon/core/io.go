package core

import (
	"bytes"
	"context"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
	"nucleus.dev/nucleus/sandbox/containerlog"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// LogOptions select log entries.
type LogOptions struct {
	Follow  bool
	Tail    int // negative: all
	Since   time.Time
	Streams nucleusv1.LogStream // unspecified: both
}

// Logs emits the container's log entries; with Follow it keeps going until
// the container has exited and its output is drained, or ctx ends.
func (d *Daemon) Logs(ctx context.Context, caller auth.Identity, idOrName string, o LogOptions, emit func(*nucleusv1.LogEntry) error) error {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return err
	}
	return d.logs(ctx, c.ID, o, emit)
}

func (d *Daemon) logs(ctx context.Context, id string, o LogOptions, emit func(*nucleusv1.LogEntry) error) error {
	ro := containerlog.ReadOptions{Follow: o.Follow, Tail: o.Tail, Since: o.Since, Watcher: d.logWatch}
	switch o.Streams {
	case nucleusv1.LogStream_LOG_STREAM_STDOUT:
		ro.Streams = containerlog.Stdout
	case nucleusv1.LogStream_LOG_STREAM_STDERR:
		ro.Streams = containerlog.Stderr
	default:
		ro.Streams = containerlog.Stdout | containerlog.Stderr
	}
	if o.Follow {
		done := make(chan struct{})
		ro.Done = done
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			defer close(done)
			if ch := d.exitedChan(id); ch != nil {
				select {
				case <-ch:
				case <-wctx.Done():
				}
				return
			}
			_, _ = d.sb.Wait(wctx, id)
		}()
	}
	return containerlog.Read(ctx, d.sb.Paths(id).Log, ro, func(e containerlog.Entry) error {
		stream := nucleusv1.LogStream_LOG_STREAM_STDOUT
		if e.Stream == containerlog.StreamStderr {
			stream = nucleusv1.LogStream_LOG_STREAM_STDERR
		}
		return emit(&nucleusv1.LogEntry{
			Time: timestamppb.New(e.Time), Stream: stream, Partial: e.Partial,
			Content: append([]byte(nil), e.Content...),
		})
	})
}

// ExecRequest is an extra process to run in a live container.
type ExecRequest struct {
	Args []string
	Env  []string
	User *nucleusv1.User
	Cwd  string
}

func (r ExecRequest) spec() sandbox.ExecSpec {
	e := sandbox.ExecSpec{Args: r.Args, Env: r.Env, Cwd: r.Cwd}
	if u := r.User; u != nil {
		e.User = &specs.User{UID: u.GetUid(), GID: u.GetGid(), AdditionalGids: u.GetAdditionalGids()}
	}
	return e
}

// Exec runs r in a running container with the given streams and returns
// its exit code; cancelling ctx kills it.
func (d *Daemon) Exec(ctx context.Context, caller auth.Identity, idOrName string, r ExecRequest, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return -1, err
	}
	if c.State != stateRunning {
		return -1, errdefs.FailedPrecondition("container %s is %s; exec needs a running container", c.Name, stateName(c.State))
	}
	return d.sb.Exec(ctx, c.ID, r.spec(), stdin, stdout, stderr)
}

// cappedBuffer keeps at most max bytes and remembers whether more came.
type cappedBuffer struct {
	buf       []byte
	max       int
	truncated bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - len(b.buf)
	if room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf = append(b.buf, p[:room]...)
		}
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// ExecSyncResult is ExecSync's outcome.
type ExecSyncResult struct {
	Stdout, Stderr                   []byte
	StdoutTruncated, StderrTruncated bool
	ExitCode                         int
	TimedOut                         bool
}

// ExecSync runs r to completion with bounded output and an optional
// timeout.
func (d *Daemon) ExecSync(ctx context.Context, caller auth.Identity, idOrName string, r ExecRequest, stdin []byte, timeout time.Duration, maxOutput int64) (*ExecSyncResult, error) {
	limit := int64(d.cfg.Limits.MaxExecOutputBytes)
	if maxOutput > 0 && maxOutput < limit {
		limit = maxOutput
	}
	if timeout < 0 {
		return nil, errdefs.InvalidArgument("timeout must not be negative")
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	out, errb := &cappedBuffer{max: int(limit)}, &cappedBuffer{max: int(limit)}
	var in io.Reader
	if len(stdin) > 0 {
		in = bytes.NewReader(stdin)
	}
	code, err := d.Exec(ctx, caller, idOrName, r, in, out, errb)
	res := &ExecSyncResult{Stdout: out.buf, Stderr: errb.buf, StdoutTruncated: out.truncated, StderrTruncated: errb.truncated, ExitCode: code}
	if err != nil {
		if timeout > 0 && ctx.Err() == context.DeadlineExceeded {
			res.TimedOut = true
			return res, nil
		}
		if ex := CommandExit(err); ex != nil {
			res.ExitCode, res.Stderr = int(ex.GetExitCode()), []byte(ex.GetMessage()+"\n")
			return res, nil
		}
		return nil, err
	}
	return res, nil
}
