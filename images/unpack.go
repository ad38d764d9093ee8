package images

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// unpacker applies the layers of one image, in order, to one tree. It is
// not safe for concurrent use.
type unpacker struct {
	t        *tree
	pol      Policy
	asRoot   bool    // chown entries (nucleusd runs as root; tests may not)
	written  int64   // bytes of regular files written, over all layers
	skipped  Skipped // special files and xattrs not created
	progress func(done int64)

	// Per layer: the paths this layer created (opaque whiteouts keep them)
	// and the directories whose times are set once the layer is done.
	created map[string]bool
	dirs    []dirTimes
}

type dirTimes struct {
	path  string
	mtime time.Time
}

func newUnpacker(dir string, pol Policy) (*unpacker, error) {
	t, err := openTree(dir)
	if err != nil {
		return nil, err
	}
	return &unpacker{t: t, pol: pol, asRoot: os.Geteuid() == 0}, nil
}

func (u *unpacker) close() { u.t.close() }

// layer applies one layer: blob is its stored (possibly compressed) stream,
// whose uncompressed form must hash to diffID. Caps stop it while it
// streams; an error leaves a half-applied tree that the caller discards.
func (u *unpacker) layer(blob io.Reader, diffID string) error {
	dec, err := decompress(blob)
	if err != nil {
		return err
	}
	defer dec.Close()
	// The uncompressed stream may hold little but tar headers and padding:
	// bound it by what the caps allow, so a stream of zeros stops early.
	limit := u.pol.MaxUnpackedBytes - u.written + int64(u.pol.MaxFilesPerLayer)*3*512 + 1<<20
	lim := &capReader{r: dec, left: limit}
	h := sha256.New()
	tr := tar.NewReader(io.TeeReader(lim, h))
	u.created, u.dirs = map[string]bool{}, nil
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return lim.wrap(corrupt(diffID, err))
		}
		if n >= u.pol.MaxFilesPerLayer {
			return errdefs.ResourceExhausted("layer %s has more than %d entries (max_files_per_layer)", short(diffID), u.pol.MaxFilesPerLayer)
		}
		if err := u.entry(tr, hdr); err != nil {
			if isCorrupt(err) {
				return lim.wrap(corrupt(diffID, err))
			}
			return lim.wrap(entryErr(diffID, hdr.Name, err))
		}
	}
	// Hash what follows the tar's end too: the digest covers the stream.
	if _, err := io.Copy(io.Discard, io.TeeReader(lim, h)); err != nil {
		return lim.wrap(corrupt(diffID, err))
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
		return errdefs.InvalidArgument("layer content does not match its diff id: got %s, the image config says %s", got, diffID)
	}
	return u.setDirTimes()
}

// setDirTimes sets the recorded directory times, after their children.
func (u *unpacker) setDirTimes() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		pfd, base, err := u.t.parent(d.path)
		if err != nil {
			continue // removed by a later whiteout of the same layer
		}
		ts := timespecs(d.mtime)
		_ = utimesAt(pfd, base, ts)
		closeFD(pfd)
	}
	return nil
}

// capReader fails with ResourceExhausted once more than left bytes were
// read, so a decompression bomb stops at the cap.
type capReader struct {
	r    io.Reader
	left int64
	hit  bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.hit = true
		return 0, errCap
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

var errCap = errors.New("uncompressed layer stream exceeds the image's caps")

// wrap turns an error met after the cap was hit into ResourceExhausted.
func (c *capReader) wrap(err error) error {
	if c.hit || errors.Is(err, errCap) {
		return errdefs.ResourceExhausted("%v (max_unpacked_bytes)", err)
	}
	return err
}

// short is a digest's first 12 hex characters, for messages.
func short(d string) string {
	if len(d) > 19 {
		return d[7:19]
	}
	return d
}

// isCorrupt reports whether err means the layer stream itself is broken
// (truncated, bad checksum, bad tar header) rather than the host failing.
func isCorrupt(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) || errors.Is(err, tar.ErrHeader) ||
		errors.Is(err, tar.ErrFieldTooLong) || errors.Is(err, tar.ErrInsecurePath)
}

// corrupt reports a broken layer stream (InvalidArgument), unless err is
// the cap (capReader.wrap turns that into ResourceExhausted).
func corrupt(diffID string, err error) error {
	if errors.Is(err, errCap) || errors.Is(err, errdefs.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("layer %s is corrupt: %v: %w", short(diffID), err, errdefs.ErrInvalidArgument)
}

// entryErr reports an entry the host refused. An errno other than the
// host's own trouble (full disk, I/O, memory) means the layer asked for
// something impossible (a file where a directory must be, a name too
// long, a link to a missing file): InvalidArgument, not an internal error.
func entryErr(diffID, name string, err error) error {
	var errno syscall.Errno
	if errdefs.Kind(err) == errdefs.ErrInternal && errors.As(err, &errno) {
		switch errno {
		case syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.ENOMEM, syscall.EROFS:
		default:
			return fmt.Errorf("layer %s: %s: %v: %w", short(diffID), name, err, errdefs.ErrInvalidArgument)
		}
	}
	return fmt.Errorf("layer %s: %s: %w", short(diffID), name, err)
}
