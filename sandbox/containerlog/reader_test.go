package containerlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// writeNumbered writes stdout "o<i>" and, for every third i, stderr "e<i>",
// one second apart from c's time.
func writeNumbered(t *testing.T, path string, c *clock, n int) time.Time {
	t.Helper()
	w := mustWriter(t, path, Options{Now: c.Now})
	start := c.Now()
	for i := range n {
		c.Set(start.Add(time.Duration(i) * time.Second))
		mustWrite(t, w.Stdout(), fmt.Sprintf("o%d\n", i))
		if i%3 == 0 {
			mustWrite(t, w.Stderr(), fmt.Sprintf("e%d\n", i))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return start
}

func TestReadFilters(t *testing.T) {
	path := logPath(t)
	start := writeNumbered(t, path, newClock(), 10)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
	for _, tc := range []struct {
		name string
		opts ReadOptions
		want []string
	}{
		{"all", ReadOptions{Tail: -1}, []string{"o:o0", "e:e0", "o:o1", "o:o2", "o:o3", "e:e3", "o:o4", "o:o5", "o:o6", "e:e6", "o:o7", "o:o8", "o:o9", "e:e9"}},
		{"tail 3", ReadOptions{Tail: 3}, []string{"o:o8", "o:o9", "e:e9"}},
		{"tail 0", ReadOptions{Tail: 0}, nil},
		{"tail more than all", ReadOptions{Tail: 100, Streams: Stderr}, []string{"e:e0", "e:e3", "e:e6", "e:e9"}},
		{"stdout tail 2", ReadOptions{Tail: 2, Streams: Stdout}, []string{"o:o8", "o:o9"}},
		{"stderr", ReadOptions{Tail: -1, Streams: Stderr}, []string{"e:e0", "e:e3", "e:e6", "e:e9"}},
		{"since", ReadOptions{Tail: -1, Since: at(7)}, []string{"o:o7", "o:o8", "o:o9", "e:e9"}},
		{"since between", ReadOptions{Tail: -1, Since: at(6).Add(time.Nanosecond)}, []string{"o:o7", "o:o8", "o:o9", "e:e9"}},
		{"since then tail", ReadOptions{Tail: 1, Since: at(5), Streams: Stderr}, []string{"e:e9"}},
		{"since after all", ReadOptions{Tail: -1, Since: at(10)}, nil},
	} {
		if got := short(readAll(t, path, tc.opts)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestReadAcrossRotation reads path+".1" then path, marker included.
func TestReadAcrossRotation(t *testing.T) {
	path := logPath(t)
	opts := Options{MaxEntrySize: 16, MaxBytes: minMaxBytes(16)}
	w := mustWriter(t, path, opts)
	const n = 40
	for i := range n {
		mustWrite(t, w.Stdout(), fmt.Sprintf("line %02d\n", i))
	}
	w.Close()
	if fileSize(t, path+".1") == 0 {
		t.Fatal("no rotation happened")
	}
	got := readAll(t, path, all)
	if got[0].Stream != StreamNucleus {
		t.Fatalf("first entry %q: want the marker of a discard", short(got[:1]))
	}
	var nums []string
	for _, e := range got {
		if e.Stream == StreamStdout {
			nums = append(nums, string(e.Content))
		}
	}
	if nums[len(nums)-1] != fmt.Sprintf("line %02d", n-1) {
		t.Fatalf("newest line %q", nums[len(nums)-1])
	}
	if !slices.IsSorted(nums) {
		t.Fatalf("out of order: %q", nums)
	}
	if tail := short(readAll(t, path, ReadOptions{Tail: 2, Streams: Stdout})); !slices.Equal(tail, []string{"o:line 38", "o:line 39"}) {
		t.Fatalf("tail across files: %q", tail)
	}
}

// TestCorruptLinesSkipped: garbage, an overlong line and a torn line are
// skipped; the entries around them are read.
func TestCorruptLinesSkipped(t *testing.T) {
	path := logPath(t)
	good := func(s string) string {
		b, _ := AppendEntry(nil, Entry{Time: time.Now(), Stream: StreamStdout, Content: []byte(s)})
		return string(b)
	}
	long := "2026-01-01T00:00:00.000000000Z stdout F " + string(bytes.Repeat([]byte("z"), 3*readBufSize)) + "\n"
	data := good("a") + "garbage\n\x00\x00\x00\n" + long + good("b") + long + long + good("c") + "2026-01-01T00:00:00.0"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := short(readAll(t, path, all)); !slices.Equal(got, []string{"o:a", "o:b", "o:c"}) {
		t.Fatalf("got %q", got)
	}
}

func TestReadMissingAndErrors(t *testing.T) {
	path := logPath(t)
	if got := readAll(t, path, all); len(got) != 0 {
		t.Fatalf("missing log: %q", short(got))
	}
	writeNumbered(t, path, newClock(), 5)
	stop := errors.New("stop")
	calls := 0
	err := Read(context.Background(), path, all, func(Entry) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("emit error: %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Read(ctx, path, ReadOptions{Tail: -1, Follow: true}, func(Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled follow: %v", err)
	}
}
