package fsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"nucleus.dev/nucleus/fsapi/wire"
	"nucleus.dev/nucleus/internal/errdefs"
)

// HelperPath is where every sandbox sees the helper: a read-only bind
// mount of a directory holding only nucleus-fs, at the root so that the
// workload can neither replace nor remove it (it is a mount point).
const (
	HelperDir    = "/.nucleus"
	HelperName   = "nucleus-fs"
	HelperPath   = HelperDir + "/" + HelperName
	maxInfoBytes = 64 << 10 // one JSON Info line or answer
	maxErrBytes  = 4 << 10  // the helper's stderr
	// cancelGrace is how long the helper gets, after the caller went away,
	// to see its input end without a commit and clean up before it is
	// killed.
	cancelGrace = 5 * time.Second
)

// Exec runs the helper with args (HelperPath is added in front) in one
// container, already resolved and authorized by the daemon, and returns
// its exit code. Cancelling ctx kills it.
type Exec func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error)

// Limits bound what one call moves.
type Limits struct {
	MaxBytes   int64 // file data of one read, write or copy
	MaxEntries int   // entries of one ListDir
}

// Files runs the file operations.
type Files struct{ Limits Limits }

// errFlood ends a call whose helper wrote more than it may.
var errFlood = errors.New("the file helper wrote more than its answer may hold")

// capWriter passes at most left bytes to w and then fails (and cancels
// the helper through stop).
type capWriter struct {
	w       io.Writer
	left    int64
	stop    func()
	flooded bool
	failed  error // the first error of w
}

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.flooded = true
		c.stop()
		return 0, errFlood
	}
	c.left -= int64(len(p))
	n, err := c.w.Write(p)
	if err != nil {
		// A malformed answer or a reader gone: the helper would block.
		c.failed = err
		c.flooded = errors.Is(err, errFlood)
		c.stop()
	}
	return n, err
}

// call runs the helper: stdin (nil for none), stdout bounded at maxOut.
// It maps the helper's reported error to errdefs. Cancelling ctx gives the
// helper cancelGrace before it is killed.
func call(ctx context.Context, run Exec, args []string, stdin io.Reader, stdout io.Writer, maxOut int64) error {
	hctx, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	stopAfter := context.AfterFunc(ctx, func() { time.AfterFunc(cancelGrace, kill) })
	defer stopAfter()
	var stderr bytes.Buffer
	out := &capWriter{w: stdout, left: maxOut, stop: kill}
	errw := &capWriter{w: &stderr, left: maxErrBytes, stop: kill}
	code, err := run(hctx, append([]string{HelperPath}, args...), stdin, out, errw)
	if out.flooded || errw.flooded {
		return errdefs.ResourceExhausted("%s: %v", args[0], errFlood)
	}
	if out.failed != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: %w", args[0], out.failed)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", args[0], ctx.Err())
		}
		return fmt.Errorf("running the file helper: %w", err)
	}
	if code == 0 {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", args[0], ctx.Err())
	}
	return helperError(args[0], code, stderr.Bytes())
}

// helperError maps what the helper reported (data, quoted) to an errdefs
// kind by its errno.
func helperError(op string, code int, stderr []byte) error {
	var e wire.Error
	if code != wire.ExitError || json.Unmarshal(bytes.TrimSpace(stderr), &e) != nil {
		return fmt.Errorf("the file helper (%s) exited with code %d: %.200q", op, code, stderr)
	}
	msg := fmt.Sprintf("%s: %.300s", op, e.Message)
	switch syscall.Errno(e.Errno) {
	case syscall.ENOENT:
		return errdefs.NotFound("%s", msg)
	case syscall.EEXIST:
		return errdefs.AlreadyExists("%s", msg)
	case syscall.EACCES, syscall.EPERM, syscall.EROFS:
		return errdefs.PermissionDenied("%s", msg)
	case syscall.EFBIG, syscall.ENOSPC, syscall.EDQUOT:
		return errdefs.ResourceExhausted("%s", msg)
	case syscall.EINVAL, syscall.ENOTDIR, syscall.EISDIR, syscall.ELOOP, syscall.ENAMETOOLONG, syscall.EXDEV:
		return errdefs.InvalidArgument("%s", msg)
	case syscall.EBUSY, syscall.ENOTEMPTY:
		return errdefs.FailedPrecondition("%s", msg)
	}
	return fmt.Errorf("%s", msg)
}

// decode parses one JSON answer strictly.
func decode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("the file helper's answer is malformed: %w", err)
	}
	if d.More() {
		return errors.New("the file helper's answer has trailing data")
	}
	return nil
}
