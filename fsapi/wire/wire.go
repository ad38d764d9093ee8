// Package wire is the protocol between nucleusd and nucleus-fs, the file
// helper it runs inside a sandbox: the helper's argv, the JSON it prints,
// the frames it reads on stdin and the error it reports on stderr. It has
// no dependencies so that the helper stays small and static.
//
// Everything the helper sends is data to nucleusd: the daemon bounds it,
// parses it strictly and never lets it choose a host path or a code path
// beyond the call's answer.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Operations, the helper's first argument.
const (
	OpStat   = "stat"    // stat PATH
	OpList   = "ls"      // ls PATH MAXENTRIES
	OpRead   = "read"    // read PATH MAXBYTES: Info line, then the data
	OpWrite  = "write"   // write PATH MODE UID GID SETOWNER MAXBYTES, frames on stdin
	OpMkdir  = "mkdir"   // mkdir PATH MODE PARENTS
	OpRemove = "rm"      // rm PATH RECURSIVE
	OpRename = "mv"      // mv FROM TO
	OpTarOut = "tar-out" // tar-out PATH MAXBYTES: Info line, then a tar
	OpTarIn  = "tar-in"  // tar-in DIR MAXBYTES, frames of a tar on stdin
)

// Info describes one path, as lstat sees it in the guest.
type Info struct {
	Name      []byte `json:"name"`
	Mode      uint32 `json:"mode"`
	Size      uint64 `json:"size"`
	UID       uint32 `json:"uid"`
	GID       uint32 `json:"gid"`
	MtimeNano int64  `json:"mtime_ns"`
	Link      []byte `json:"link,omitempty"`
}

// Extracted is tar-in's answer.
type Extracted struct {
	Entries uint64 `json:"entries"`
	Bytes   uint64 `json:"bytes"`
}

// Error is what the helper prints on stderr before exiting with ExitError:
// the errno of the failed call (EFBIG for a cap) and a message.
type Error struct {
	Errno   uint32 `json:"errno"`
	Message string `json:"message"`
}

// ExitError is the helper's exit code when it reports an Error.
const ExitError = 3

// MaxFrame is the largest data frame on the helper's stdin.
const MaxFrame = 1 << 20

// ErrUncommitted is returned by a FrameReader whose stream ended without
// the closing empty frame: the sender went away, and whatever was being
// written must be thrown away.
var ErrUncommitted = errors.New("input ended before its commit frame")

// WriteFrame writes one frame: a 4-byte big-endian length, then p. An
// empty frame commits the stream.
func WriteFrame(w io.Writer, p []byte) error {
	if len(p) > MaxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", len(p), MaxFrame)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	_, err := w.Write(p)
	return err
}

// FrameWriter chunks writes into frames; Commit writes the empty frame.
type FrameWriter struct{ W io.Writer }

func (f FrameWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), MaxFrame)
		if err := WriteFrame(f.W, p[:c]); err != nil {
			return n, err
		}
		n, p = n+c, p[c:]
	}
	return n, nil
}

// Commit ends the stream successfully.
func (f FrameWriter) Commit() error { return WriteFrame(f.W, nil) }

// FrameReader reads the data of frames; it returns io.EOF after the
// commit frame and ErrUncommitted when the stream ends before it.
type FrameReader struct {
	R         io.Reader
	left      uint32
	committed bool
}

func (f *FrameReader) Read(p []byte) (int, error) {
	for f.left == 0 {
		if f.committed {
			return 0, io.EOF
		}
		var hdr [4]byte
		if _, err := io.ReadFull(f.R, hdr[:]); err != nil {
			return 0, ErrUncommitted
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > MaxFrame {
			return 0, fmt.Errorf("frame of %d bytes exceeds %d", n, MaxFrame)
		}
		if n == 0 {
			f.committed = true
			return 0, io.EOF
		}
		f.left = n
	}
	if uint32(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.R.Read(p)
	f.left -= uint32(n)
	if err == io.EOF {
		if f.left > 0 {
			return n, ErrUncommitted
		}
		err = nil
	}
	return n, err
}
