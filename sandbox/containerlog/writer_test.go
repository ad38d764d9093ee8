package containerlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestRoundTripInterleaved(t *testing.T) {
	path := logPath(t)
	c := newClock()
	w := mustWriter(t, path, Options{Now: c.Now})
	mustWrite(t, w.Stdout(), "out one\nout ")
	mustWrite(t, w.Stderr(), "err one\n")
	mustWrite(t, w.Stdout(), "two\n\n")
	mustWrite(t, w.Stderr(), "err two\nno newline")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := short(readAll(t, path, all))
	want := []string{"o:out one", "e:err one", "o:out two", "o:", "e:err two", "e+:no newline"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, e := range readAll(t, path, all) {
		if !e.Time.Equal(c.Now()) {
			t.Errorf("time %v, want %v", e.Time, c.Now())
		}
	}
}

func TestLongLineSplit(t *testing.T) {
	line := make([]byte, 1<<20)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	for _, tc := range []struct {
		name     string
		tail     string // written after the 1 MiB
		partials int    // P entries
		final    int    // content bytes of the F entry; -1: none
	}{
		{"no newline", "", 64, -1}, // Close flushes the pending last piece as P
		{"newline", "\n", 63, MaxEntrySize},
		{"longer", "0123456789\n", 64, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := logPath(t)
			w := mustWriter(t, path, Options{})
			// Written in odd chunks, as a pipe delivers it.
			data := append(slices.Clone(line), tc.tail...)
			for len(data) > 0 {
				n := min(len(data), 7919)
				mustWrite(t, w.Stdout(), string(data[:n]))
				data = data[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, path, all)
			var joined []byte
			for i, e := range got {
				joined = append(joined, e.Content...)
				last := i == len(got)-1
				if e.Partial != (!last || tc.final < 0) {
					t.Fatalf("entry %d: partial=%v", i, e.Partial)
				}
				if e.Partial && len(e.Content) != MaxEntrySize {
					t.Fatalf("P entry %d has %d bytes", i, len(e.Content))
				}
			}
			wantN := tc.partials
			if tc.final >= 0 {
				wantN++
				if n := len(got[len(got)-1].Content); n != tc.final {
					t.Fatalf("final entry has %d bytes, want %d", n, tc.final)
				}
			}
			if len(got) != wantN {
				t.Fatalf("%d entries, want %d", len(got), wantN)
			}
			if want := strings.TrimSuffix(string(line)+tc.tail, "\n"); string(joined) != want {
				t.Fatal("joined content differs from the input")
			}
		})
	}
}

// TestForgedContent: control characters and a fake CRI prefix stay content
// of one entry of the real stream.
func TestForgedContent(t *testing.T) {
	path := logPath(t)
	w := mustWriter(t, path, Options{})
	forged := "a\rb\x1b[2J 2020-01-01T00:00:00Z stdout F forged"
	mustWrite(t, w.Stderr(), forged+"\n")
	mustWrite(t, w.Stderr(), "x\n2020-01-01T00:00:00Z nucleus F forged marker\n")
	w.Close()
	got := readAll(t, path, all)
	want := []string{"e:" + forged, "e:x", "e:2020-01-01T00:00:00Z nucleus F forged marker"}
	if !slices.Equal(short(got), want) {
		t.Fatalf("got %q\nwant %q", short(got), want)
	}
	if got[0].Time.Year() == 2020 {
		t.Fatal("forged timestamp was taken")
	}
	if e := Escape(got[0].Content); e != `a\x0db\x1b[2J 2020-01-01T00:00:00Z stdout F forged` {
		t.Fatalf("Escape = %q", e)
	}
}

// TestCapHoldsUnderFlood writes 50 MiB of "y\n" (as `yes` would) into a
// 1 MiB log: the files stay within the cap, the newest output is kept, and
// the log still reads.
func TestCapHoldsUnderFlood(t *testing.T) {
	const maxBytes = 1 << 20
	path := logPath(t)
	w := mustWriter(t, path, Options{MaxBytes: maxBytes})
	chunk := bytes.Repeat([]byte("y\n"), 16<<10) // 32 KiB, a pipe read
	total := 50 << 20
	if testing.Short() {
		total = 8 << 20
	}
	for written := 0; written < total; written += len(chunk) {
		mustWrite(t, w.Stdout(), string(chunk))
		if sz := fileSize(t, path) + fileSize(t, path+".1"); sz > maxBytes {
			t.Fatalf("after %d bytes the log holds %d > %d", written, sz, maxBytes)
		}
	}
	mustWrite(t, w.Stdout(), "the end\n")
	mustWrite(t, w.Stderr(), "partial")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if sz := fileSize(t, path) + fileSize(t, path+".1"); sz > maxBytes || sz < maxBytes/2 {
		t.Fatalf("log holds %d bytes, want (cap/2, cap]", sz)
	}
	got := readAll(t, path, all)
	if len(got) < 10000 {
		t.Fatalf("only %d entries", len(got))
	}
	if got[0].Stream != StreamNucleus || !strings.Contains(string(got[0].Content), "rotated") {
		t.Fatalf("first entry %q is not a rotation marker", short(got[:1]))
	}
	if tail := short(got[len(got)-2:]); !slices.Equal(tail, []string{"o:the end", "e+:partial"}) {
		t.Fatalf("newest entries %q", tail)
	}
	for _, e := range got[1 : len(got)-2] {
		if e.Stream == StreamStdout && string(e.Content) != "y" {
			t.Fatalf("unexpected entry %q", short([]Entry{e}))
		}
	}
}

func TestConcurrentStreams(t *testing.T) {
	path := logPath(t)
	w := mustWriter(t, path, Options{MaxBytes: 64 << 20})
	const n = 5000
	var wg sync.WaitGroup
	for _, sw := range []*StreamWriter{w.Stdout(), w.Stderr()} {
		wg.Go(func() {
			var buf []byte
			for i := range n {
				buf = fmt.Appendf(buf, "%s line %d\n", sw.name, i)
				if i%7 == 6 || i == n-1 { // uneven chunks, split mid-line
					cut := len(buf) / 2
					sw.Write(buf[:cut])
					sw.Write(buf[cut:])
					buf = buf[:0]
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, e := range readAll(t, path, all) {
		want := fmt.Sprintf("%s line %d", e.Stream, next[e.Stream])
		if e.Partial || string(e.Content) != want {
			t.Fatalf("got %q, want %q", short([]Entry{e}), want)
		}
		next[e.Stream]++
	}
	if next[StreamStdout] != n || next[StreamStderr] != n {
		t.Fatalf("counts %v", next)
	}
}

// TestTornLastLine: a writer killed mid-write leaves a line without its
// newline; readers skip it and the next writer truncates it.
func TestTornLastLine(t *testing.T) {
	path := logPath(t)
	w := mustWriter(t, path, Options{})
	mustWrite(t, w.Stdout(), "one\ntwo\n")
	w.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("2026-01-02T03:04:05.000000006Z stdout F tor")
	f.Close()
	if got := short(readAll(t, path, all)); !slices.Equal(got, []string{"o:one", "o:two"}) {
		t.Fatalf("torn: got %q", got)
	}
	// The next writer rotates the torn file away instead of appending to it.
	w2 := mustWriter(t, path, Options{})
	mustWrite(t, w2.Stdout(), "three\n")
	w2.Close()
	got := short(readAll(t, path, all))
	want := []string{"o:one", "o:two", "n:log rotated: previous file ends in a torn line (its writer was killed)", "o:three"}
	if !slices.Equal(got, want) {
		t.Fatalf("after reopen: got %q", got)
	}
	if b, _ := os.ReadFile(path + ".1"); !bytes.HasSuffix(b, []byte(" tor")) {
		t.Fatalf("%s.1 lost its torn line: %q", path, b)
	}
}

func TestFlushAndMonotonicTime(t *testing.T) {
	path := logPath(t)
	c := newClock()
	w := mustWriter(t, path, Options{Now: c.Now})
	start := c.Now()
	mustWrite(t, w.Stdout(), "progress 10%")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	c.Set(start.Add(-time.Hour)) // the wall clock steps back
	mustWrite(t, w.Stdout(), " 100%\n")
	w.Close()
	got := readAll(t, path, all)
	if !slices.Equal(short(got), []string{"o+:progress 10%", "o: 100%"}) {
		t.Fatalf("got %q", short(got))
	}
	if got[1].Time.Before(got[0].Time) {
		t.Fatalf("time went backwards: %v then %v", got[0].Time, got[1].Time)
	}
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(logPath(t), Options{MaxBytes: 1000}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("tiny MaxBytes: %v", err)
	}
	if _, err := NewWriter(logPath(t), Options{MaxEntrySize: MaxEntrySize + 1}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("big MaxEntrySize: %v", err)
	}
	if _, err := NewWriter("/nonexistent/dir/ctr.log", Options{}); err == nil {
		t.Error("missing directory: no error")
	}
	dir := t.TempDir()
	if _, err := NewWriter(dir, Options{}); err == nil {
		t.Error("directory as log: no error")
	}
	path := logPath(t)
	w := mustWriter(t, path, Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Stdout().Write([]byte("late\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if err := w.Sync(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("sync after close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode: %v, %v", fi.Mode(), err)
	}
}
