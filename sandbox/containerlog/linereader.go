package containerlog

import (
	"bytes"
	"io"
	"os"
)

// readBufSize is the line reader's fixed buffer; it holds at least two
// lines of maximum length.
const readBufSize = 64 << 10

// lineReader reads complete lines from a file at an offset of its own, with
// a fixed buffer. Lines longer than maxLineLen are skipped.
type lineReader struct {
	f     *os.File
	buf   []byte
	r, w  int   // unread data is buf[r:w]
	pos   int64 // file offset of buf[w]
	limit int64 // read no further than this offset; -1: no limit
	skip  bool  // discarding an overlong line up to its newline
}

func newLineReader(f *os.File, limit int64) *lineReader {
	return &lineReader{f: f, buf: make([]byte, readBufSize), limit: limit}
}

// offset is the file offset just after the last line returned.
func (lr *lineReader) offset() int64 { return lr.pos - int64(lr.w-lr.r) }

// next returns the next complete line without its newline, valid until the
// next call. ok is false when no complete line is available yet; the bytes
// of an incomplete last line stay buffered for a later call.
func (lr *lineReader) next() (line []byte, ok bool, err error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.r:lr.w], '\n'); i >= 0 {
			line = lr.buf[lr.r : lr.r+i]
			lr.r += i + 1
			if lr.skip {
				lr.skip = false
				continue
			}
			return line, true, nil
		}
		if lr.skip || lr.w-lr.r > maxLineLen {
			lr.skip, lr.r = true, lr.w // overlong (corrupt): drop it
		}
		if lr.r > 0 {
			lr.w = copy(lr.buf, lr.buf[lr.r:lr.w])
			lr.r = 0
		}
		want := int64(len(lr.buf) - lr.w)
		if lr.limit >= 0 && lr.limit-lr.pos < want {
			want = lr.limit - lr.pos
		}
		if want <= 0 {
			return nil, false, nil
		}
		n, err := lr.f.ReadAt(lr.buf[lr.w:lr.w+int(want)], lr.pos)
		lr.w += n
		lr.pos += int64(n)
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		if n == 0 {
			return nil, false, nil
		}
	}
}
