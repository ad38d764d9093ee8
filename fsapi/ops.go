package fsapi

import (
	"bytes"
	"context"
	"io"
	"path"
	"strconv"
	"strings"

	"nucleus.dev/nucleus/fsapi/wire"
	"nucleus.dev/nucleus/internal/errdefs"
)

// tarOverhead is what a tar stream may add to its file data: headers,
// padding, long names.
const tarOverhead = 64 << 20

// maxListBytes bounds a ListDir answer, whatever max_dir_entries says.
const maxListBytes = 64 << 20

// CheckPath validates a path from a request: absolute, without NUL bytes.
// ".." components are allowed: the guest kernel resolves them inside the
// container, where "/.." is "/".
func CheckPath(what, p string) error {
	if !path.IsAbs(p) {
		return errdefs.InvalidArgument("%s %.200q must be an absolute path in the container", what, p)
	}
	if strings.IndexByte(p, 0) >= 0 || len(p) > 4096 {
		return errdefs.InvalidArgument("%s must be at most 4096 bytes without NUL bytes", what)
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Stat describes p (lstat).
func (f Files) Stat(ctx context.Context, run Exec, p string) (*wire.Info, error) {
	var out bytes.Buffer
	if err := call(ctx, run, []string{wire.OpStat, p}, nil, &out, maxInfoBytes); err != nil {
		return nil, err
	}
	var info wire.Info
	return &info, decode(out.Bytes(), &info)
}

// List lists directory p.
func (f Files) List(ctx context.Context, run Exec, p string) ([]wire.Info, error) {
	var out bytes.Buffer
	max := int64(f.Limits.MaxEntries)
	// An entry's JSON is at most ~6 KiB (a base64 link target of 4096
	// bytes); the answer is buffered, so it is capped at maxListBytes too.
	if err := call(ctx, run, []string{wire.OpList, p, itoa(max)}, nil, &out, min((max+1)*8<<10, maxListBytes)); err != nil {
		return nil, err
	}
	var infos []wire.Info
	if err := decode(out.Bytes(), &infos); err != nil {
		return nil, err
	}
	if int64(len(infos)) > max {
		return nil, errdefs.ResourceExhausted("%s has more than %d entries", p, max)
	}
	return infos, nil
}

// MakeDir creates directory p with mode (0: 0755), and its parents with
// parents.
func (f Files) MakeDir(ctx context.Context, run Exec, p string, mode uint32, parents bool) error {
	return call(ctx, run, []string{wire.OpMkdir, p, itoa(int64(mode & 0o7777)), flag(parents)}, nil, io.Discard, maxInfoBytes)
}

// Remove removes p (a whole tree with recursive).
func (f Files) Remove(ctx context.Context, run Exec, p string, recursive bool) error {
	return call(ctx, run, []string{wire.OpRemove, p, flag(recursive)}, nil, io.Discard, maxInfoBytes)
}

// Rename renames from to to.
func (f Files) Rename(ctx context.Context, run Exec, from, to string) error {
	return call(ctx, run, []string{wire.OpRename, from, to}, nil, io.Discard, maxInfoBytes)
}

// WriteOptions are a written file's mode and owner.
type WriteOptions struct {
	Mode     uint32 // permission bits; 0 means 0644
	UID, GID uint32
	SetOwner bool
}

// Write replaces p with what r yields up to io.EOF: whole, or (on an
// error from r, a cancel or the cap) not at all.
func (f Files) Write(ctx context.Context, run Exec, p string, o WriteOptions, r io.Reader) (*wire.Info, error) {
	var out bytes.Buffer
	args := []string{wire.OpWrite, p, itoa(int64(o.Mode & 0o7777)), itoa(int64(o.UID)), itoa(int64(o.GID)), flag(o.SetOwner), itoa(f.Limits.MaxBytes)}
	in := framed(r)
	defer in.Close()
	if err := call(ctx, run, args, in, &out, maxInfoBytes); err != nil {
		return nil, err
	}
	var info wire.Info
	return &info, decode(out.Bytes(), &info)
}

// Read streams regular file p to w after calling onInfo with its info.
func (f Files) Read(ctx context.Context, run Exec, p string, onInfo func(*wire.Info) error, w io.Writer) error {
	return f.infoThenData(ctx, run, []string{wire.OpRead, p, itoa(f.Limits.MaxBytes)}, f.Limits.MaxBytes, onInfo, w)
}

// TarOut streams a tar of p (docker cp's layout) to w after calling
// onInfo with p's info.
func (f Files) TarOut(ctx context.Context, run Exec, p string, onInfo func(*wire.Info) error, w io.Writer) error {
	return f.infoThenData(ctx, run, []string{wire.OpTarOut, p, itoa(f.Limits.MaxBytes)}, f.Limits.MaxBytes+tarOverhead, onInfo, w)
}

// TarIn extracts the tar r yields into the existing directory dir.
func (f Files) TarIn(ctx context.Context, run Exec, dir string, r io.Reader) (*wire.Extracted, error) {
	var out bytes.Buffer
	capped := &capReader{r: r, left: f.Limits.MaxBytes + tarOverhead}
	in := framed(capped)
	defer in.Close()
	if err := call(ctx, run, []string{wire.OpTarIn, dir, itoa(f.Limits.MaxBytes)}, in, &out, maxInfoBytes); err != nil {
		if capped.over {
			return nil, errdefs.ResourceExhausted("the tar stream exceeds %d bytes ([limits] max_file_bytes and room for headers)", f.Limits.MaxBytes+tarOverhead)
		}
		return nil, err
	}
	var x wire.Extracted
	return &x, decode(out.Bytes(), &x)
}

func (f Files) infoThenData(ctx context.Context, run Exec, args []string, maxData int64, onInfo func(*wire.Info) error, w io.Writer) error {
	s := &splitter{onInfo: onInfo, data: w}
	return call(ctx, run, args, nil, s, maxInfoBytes+maxData)
}

// splitter parses the first line of the helper's output as an Info and
// passes the rest on.
type splitter struct {
	line   []byte
	done   bool
	onInfo func(*wire.Info) error
	data   io.Writer
}

func (s *splitter) Write(p []byte) (int, error) {
	n := len(p)
	if !s.done {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(s.line)+len(p) > maxInfoBytes {
				return 0, errFlood
			}
			s.line = append(s.line, p...)
			return n, nil
		}
		s.line = append(s.line, p[:i]...)
		s.done = true
		var info wire.Info
		if err := decode(s.line, &info); err != nil {
			return 0, err
		}
		if err := s.onInfo(&info); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	if len(p) > 0 {
		if _, err := s.data.Write(p); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// capReader fails once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return 0, errFlood
	}
	return n, err
}
