package containerlog

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names as they appear in the log.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
	// StreamNucleus carries entries Nucleus writes itself (rotation
	// markers); a container cannot write to it.
	StreamNucleus = "nucleus"
)

// MaxEntrySize is the largest content of one entry, as in CRI: a longer
// line is split into P entries.
const MaxEntrySize = 16 << 10

const (
	// timeLayout is RFC 3339 with a fixed nine-digit fraction, always UTC.
	timeLayout = "2006-01-02T15:04:05.000000000Z"
	timeLen    = len(timeLayout)
	// maxLineLen bounds a well-formed line, newline excluded.
	maxLineLen = timeLen + 1 + len(StreamNucleus) + 1 + 1 + 1 + MaxEntrySize
)

// Entry is one entry of a log.
type Entry struct {
	// Time is when the writer wrote the entry (UTC, non-decreasing per log).
	Time time.Time
	// Stream is StreamStdout, StreamStderr or StreamNucleus.
	Stream string
	// Partial is true for a P entry: the line continues in a later entry
	// of the same stream.
	Partial bool
	// Content is the raw output, without the newline that ended the line.
	Content []byte
}

var errMalformed = errors.New("malformed log entry")

// ParseEntry parses one line of a log, without its trailing newline. The
// returned Content aliases line.
func ParseEntry(line []byte) (Entry, error) {
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(ts) == 0 || ts[len(ts)-1] != 'Z' {
		return Entry{}, fmt.Errorf("%w: no UTC timestamp", errMalformed)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: timestamp: %v", errMalformed, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return Entry{}, fmt.Errorf("%w: no stream", errMalformed)
	}
	name, ok := streamName(stream)
	if !ok {
		return Entry{}, fmt.Errorf("%w: unknown stream %q", errMalformed, stream)
	}
	if len(rest) < 2 || (rest[0] != 'P' && rest[0] != 'F') || rest[1] != ' ' {
		return Entry{}, fmt.Errorf("%w: no P/F tag", errMalformed)
	}
	content := rest[2:]
	if bytes.IndexByte(content, '\n') >= 0 {
		return Entry{}, fmt.Errorf("%w: newline in content", errMalformed)
	}
	return Entry{Time: t.UTC(), Stream: name, Partial: rest[0] == 'P', Content: content}, nil
}

// AppendEntry appends e in the log format, newline included. It fails for
// an entry the writer never produces: an unknown stream, content holding a
// newline or longer than MaxEntrySize, or a time outside years 0-9999.
func AppendEntry(dst []byte, e Entry) ([]byte, error) {
	if _, ok := streamName([]byte(e.Stream)); !ok {
		return dst, fmt.Errorf("append log entry: unknown stream %q", e.Stream)
	}
	if len(e.Content) > MaxEntrySize {
		return dst, fmt.Errorf("append log entry: content of %d bytes exceeds %d", len(e.Content), MaxEntrySize)
	}
	if bytes.IndexByte(e.Content, '\n') >= 0 {
		return dst, errors.New("append log entry: content holds a newline")
	}
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("append log entry: year %d out of range", y)
	}
	dst = appendHeader(dst, e.Time, e.Stream, e.Partial)
	dst = append(dst, e.Content...)
	return append(dst, '\n'), nil
}

// appendHeader appends "<time> <stream> <tag> ".
func appendHeader(dst []byte, t time.Time, stream string, partial bool) []byte {
	dst = t.UTC().AppendFormat(dst, timeLayout)
	dst = append(dst, ' ')
	dst = append(dst, stream...)
	tag := byte('F')
	if partial {
		tag = 'P'
	}
	return append(dst, ' ', tag, ' ')
}

// headerLen is the length of appendHeader's output for stream.
func headerLen(stream string) int { return timeLen + 1 + len(stream) + 3 }

// streamName returns the canonical (constant) name for b, so that parsed
// entries do not allocate a string per line.
func streamName(b []byte) (string, bool) {
	switch string(b) {
	case StreamStdout:
		return StreamStdout, true
	case StreamStderr:
		return StreamStderr, true
	case StreamNucleus:
		return StreamNucleus, true
	}
	return "", false
}
