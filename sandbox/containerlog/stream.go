package containerlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// StreamWriter turns one output stream into log entries. It is an
// io.Writer safe for concurrent use.
type StreamWriter struct {
	w      *Writer
	name   string
	hdrLen int
	hdrF   []byte // headers with a blank timestamp, for F and P entries
	hdrP   []byte

	mu sync.Mutex
	// buf holds whole entries not yet written, then the pending entry: a
	// header slot of hdrLen bytes and the content of a line whose end has
	// not arrived. Timestamps are filled in when the entries are written.
	// Its capacity is one entry of maximum size.
	buf   []byte
	start int // offset of the pending entry's header slot
}

func newStreamWriter(w *Writer, name string) *StreamWriter {
	hl := headerLen(name)
	return &StreamWriter{
		w: w, name: name, hdrLen: hl,
		hdrF: appendHeader(nil, time.Time{}, name, false),
		hdrP: appendHeader(nil, time.Time{}, name, true),
		buf:  make([]byte, hl, hl+w.maxEntry+1),
	}
}

// Write splits p into entries: one per line, and a P entry whenever a line
// grows past the maximum entry size. A line without its newline yet stays
// pending (at most one entry's worth) until the newline, Flush or Close.
// Whole entries are written before Write returns. On an error the entries
// of this call that could not be written are lost and later writes retry
// the file; the caller should keep draining its pipe either way.
func (s *StreamWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w.closed.Load() {
		return 0, fmt.Errorf("write container log %s: %w", s.w.path, os.ErrClosed)
	}
	n := len(p)
	var err error
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	for len(p) > 0 {
		room := s.w.maxEntry - (len(s.buf) - s.start - s.hdrLen)
		line := p
		nl := bytes.IndexByte(p, '\n')
		if nl >= 0 {
			line = p[:nl]
		}
		switch {
		case len(line) > room: // split the line: a full P entry
			keep(s.add(p[:room]))
			p = p[room:]
			keep(s.finish(true))
		case nl >= 0:
			keep(s.add(line))
			p = p[nl+1:]
			keep(s.finish(false))
		default:
			keep(s.add(p))
			p = nil
		}
	}
	keep(s.flush())
	return n, err
}

// Flush writes the pending partial line, if any, as a P entry.
func (s *StreamWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if len(s.buf) > s.start+s.hdrLen {
		err = s.finish(true)
	}
	return errors.Join(err, s.flush())
}

// add appends content to the pending entry, writing out the whole entries
// first when the buffer lacks room (content plus the newline).
func (s *StreamWriter) add(content []byte) error {
	var err error
	if cap(s.buf)-len(s.buf) < len(content)+1 {
		err = s.flush()
	}
	s.buf = append(s.buf, content...)
	return err
}

// finish closes the pending entry (its timestamp is left blank) and opens a
// new one.
func (s *StreamWriter) finish(partial bool) error {
	hdr := s.hdrF
	if partial {
		hdr = s.hdrP
	}
	copy(s.buf[s.start:], hdr)
	s.buf = append(s.buf, '\n')
	s.start = len(s.buf)
	var err error
	if cap(s.buf)-len(s.buf) < s.hdrLen {
		err = s.flush()
	}
	s.buf = s.buf[:len(s.buf)+s.hdrLen]
	return err
}

// flush writes the whole entries in buf and moves the pending entry to the
// front. The entries are dropped when the write fails.
func (s *StreamWriter) flush() error {
	if s.start == 0 {
		return nil
	}
	err := s.w.writeBatch(s.buf[:s.start])
	n := copy(s.buf, s.buf[s.start:])
	s.buf, s.start = s.buf[:n], 0
	return err
}
