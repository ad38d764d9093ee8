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
	"nucleus.dev/nucleus/sandbox/containerlog"
)

// LogOptions select log entries.
type LogOptions struct {
	Follow  bool
	Tail    int // negative: all
	Since   time.Time
	Streams nucleusv1.LogStream // unspecified: both
	// Positioned is called once what follows the history will be emitted
	// (containerlog.ReadOptions.Positioned).
	Positioned func()
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
	ro := containerlog.ReadOptions{Follow: o.Follow, Tail: o.Tail, Since: o.Since, Watcher: d.logWatch, Positioned: o.Positioned}
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
	// Signal ended the process (SIGKILL at the timeout); 0 if none.
	Signal   int
	TimedOut bool
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
	out, errb := &cappedBuffer{max: int(limit)}, &cappedBuffer{max: int(limit)}
	var in io.Reader
	if len(stdin) > 0 {
		in = bytes.NewReader(stdin)
	}
	st, err := d.Exec(ctx, caller, idOrName, r, ExecIO{Stdin: in, Stdout: out, Stderr: errb, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	res := &ExecSyncResult{Stdout: out.buf, Stderr: errb.buf, StdoutTruncated: out.truncated, StderrTruncated: errb.truncated,
		ExitCode: int(st.GetExitCode()), Signal: int(st.GetSignal()), TimedOut: st.GetReason() == ReasonTimeout}
	if st.GetReason() == ReasonNotFound || st.GetReason() == ReasonNotExecutable {
		res.Stderr = []byte(st.GetMessage() + "\n")
	}
	return res, nil
}
