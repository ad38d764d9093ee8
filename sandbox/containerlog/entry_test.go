package containerlog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseEntry(t *testing.T) {
	ts := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, tc := range []struct {
		line string
		want *Entry // nil: an error
	}{
		{"2026-05-06T07:08:09.123456789Z stdout F hello", &Entry{ts, StreamStdout, false, []byte("hello")}},
		{"2026-05-06T07:08:09.123456789Z stderr P  two  spaces ", &Entry{ts, StreamStderr, true, []byte(" two  spaces ")}},
		{"2026-05-06T07:08:09.123456789Z stdout F ", &Entry{ts, StreamStdout, false, []byte{}}},
		{"2026-05-06T07:08:09.123456789Z nucleus F log rotated", &Entry{ts, StreamNucleus, false, []byte("log rotated")}},
		{"2026-05-06T07:08:09Z stdout F short time", &Entry{ts.Truncate(time.Second), StreamStdout, false, []byte("short time")}},
		{"2026-05-06T07:08:09.123456789Z stdout F a\rb\x1b[2J 2020-01-01T00:00:00Z stdout F forged",
			&Entry{ts, StreamStdout, false, []byte("a\rb\x1b[2J 2020-01-01T00:00:00Z stdout F forged")}},
		{"", nil},
		{"2026-05-06T07:08:09.123456789Z stdout F", nil},         // no space after the tag
		{"2026-05-06T07:08:09.123456789Z stdout X hi", nil},      // bad tag
		{"2026-05-06T07:08:09.123456789Z stdin F hi", nil},       // bad stream
		{"2026-05-06T07:08:09.123456789+01:00 stdout F hi", nil}, // not UTC
		{"2026-13-06T07:08:09.123456789Z stdout F hi", nil},      // bad month
		{"garbage", nil},
		{"2026-05-06T07:08:09.123456789Z stdout F a\nb", nil}, // newline in content
	} {
		got, err := ParseEntry([]byte(tc.line))
		if tc.want == nil {
			if err == nil {
				t.Errorf("ParseEntry(%q) = %+v, want an error", tc.line, got)
			}
			continue
		}
		if err != nil || !equalEntry(got, *tc.want) {
			t.Errorf("ParseEntry(%q) = %+v, %v; want %+v", tc.line, got, err, *tc.want)
		}
	}
}

func TestAppendEntryRejects(t *testing.T) {
	now := time.Now()
	for name, e := range map[string]Entry{
		"newline":     {Time: now, Stream: StreamStdout, Content: []byte("a\nb")},
		"stream":      {Time: now, Stream: "stdin"},
		"too long":    {Time: now, Stream: StreamStdout, Content: bytes.Repeat([]byte("x"), MaxEntrySize+1)},
		"year 10000":  {Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Stream: StreamStdout},
		"negative yr": {Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), Stream: StreamStdout},
	} {
		if _, err := AppendEntry(nil, e); err == nil {
			t.Errorf("%s: AppendEntry succeeded", name)
		}
	}
	b, err := AppendEntry(nil, Entry{Time: now, Stream: StreamStderr, Content: bytes.Repeat([]byte("x"), MaxEntrySize)})
	if err != nil || len(b) != headerLen(StreamStderr)+MaxEntrySize+1 {
		t.Fatalf("max entry: %d bytes, %v", len(b), err)
	}
}

func equalEntry(a, b Entry) bool {
	return a.Time.Equal(b.Time) && a.Stream == b.Stream && a.Partial == b.Partial && bytes.Equal(a.Content, b.Content)
}

// FuzzParseEntry checks that parsing never panics, that whatever parses
// re-encodes to an equal entry, and that every entry the writer can produce
// parses back to itself.
func FuzzParseEntry(f *testing.F) {
	f.Add([]byte("2026-05-06T07:08:09.123456789Z stdout F hello"), int64(0), uint8(0), false, []byte("x"))
	f.Add([]byte("2020-01-01T00:00:00Z stderr P \x1b[2J\r"), int64(1<<62), uint8(1), true, []byte("\x1b[31m"))
	f.Add([]byte("0000-01-01T00:00:00.5Z nucleus F "), int64(-1<<62), uint8(2), false, []byte{})
	streams := []string{StreamStdout, StreamStderr, StreamNucleus}
	f.Fuzz(func(t *testing.T, line []byte, nanos int64, stream uint8, partial bool, content []byte) {
		if e, err := ParseEntry(line); err == nil {
			b, err := AppendEntry(nil, e)
			if err != nil {
				// Only content the writer never produces may fail.
				if len(e.Content) <= MaxEntrySize {
					t.Fatalf("parsed %q but cannot re-encode %+v: %v", line, e, err)
				}
			} else if e2, err := ParseEntry(b[:len(b)-1]); err != nil || !equalEntry(e, e2) {
				t.Fatalf("%q: re-encoded %q parses to %+v, %v; want %+v", line, b, e2, err, e)
			}
		}
		e := Entry{Time: time.Unix(0, nanos).UTC(), Stream: streams[int(stream)%3], Partial: partial, Content: content}
		b, err := AppendEntry(nil, e)
		if err != nil {
			if len(content) <= MaxEntrySize && bytes.IndexByte(content, '\n') < 0 {
				t.Fatalf("AppendEntry(%+v): %v", e, err)
			}
			return
		}
		if bytes.IndexByte(b, '\n') != len(b)-1 || strings.Count(string(b[:timeLen]), "Z") != 1 {
			t.Fatalf("bad framing: %q", b)
		}
		got, err := ParseEntry(b[:len(b)-1])
		if err != nil || !equalEntry(got, e) {
			t.Fatalf("round trip of %+v: %+v, %v", e, got, err)
		}
	})
}
