package containerlog

import (
	"bytes"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// TestTailMatchesTheForwardRead: Tail read back from the end gives exactly
// the last Tail entries of a full forward read, over random logs split
// across the rotated and the current file, with lines straddling the read
// chunks, corrupt and overlong lines, a torn last line, and stream
// and time filters.
func TestTailMatchesTheForwardRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for round := range 40 {
		path := logPath(t)
		var files [2][]byte // .1, then the current file
		n := rng.IntN(80)
		split := rng.IntN(n + 1)
		for i := range n {
			f := &files[1]
			if i < split {
				f = &files[0]
			}
			switch rng.IntN(12) {
			case 0: // corrupt
				*f = append(*f, "not an entry\n"...)
				continue
			case 1: // overlong
				*f = append(append(*f, bytes.Repeat([]byte("x"), maxLineLen+10)...), '\n')
				continue
			}
			size := rng.IntN(64)
			if rng.IntN(4) == 0 {
				size = rng.IntN(MaxEntrySize + 1) // lines then straddle the 64 KiB read chunks
			}
			stream := []string{StreamStdout, StreamStderr}[rng.IntN(2)]
			e := Entry{Time: base.Add(time.Duration(i) * time.Second), Stream: stream, Partial: rng.IntN(5) == 0, Content: bytes.Repeat([]byte{byte('a' + i%26)}, size)}
			var err error
			if *f, err = AppendEntry(*f, e); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(3) == 0 {
			files[1] = append(files[1], "2026-01-02T03:04:05.000000000Z stdout F torn"...)
		}
		if split > 0 {
			if err := os.WriteFile(path+".1", files[0], 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, files[1], 0o600); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []ReadOptions{
			{Streams: AllStreams}, {Streams: Stdout}, {Streams: Stderr},
			{Streams: AllStreams, Since: base.Add(time.Duration(rng.IntN(n+1)) * time.Second)},
		} {
			opts.Tail = -1
			whole := readAll(t, path, opts)
			for _, tail := range []int{0, 1, 2, rng.IntN(n + 2), n + 5} {
				opts.Tail = tail
				got := readAll(t, path, opts)
				want := whole[max(0, len(whole)-tail):]
				if !slices.EqualFunc(got, want, func(a, b Entry) bool {
					return a.Time.Equal(b.Time) && a.Stream == b.Stream && a.Partial == b.Partial && bytes.Equal(a.Content, b.Content)
				}) {
					t.Fatalf("round %d, %+v: tail read %d entries, the last %d of a forward read are %d; first differs", round, opts, len(got), tail, len(want))
				}
			}
		}
		os.Remove(path + ".1")
	}
}

// BenchmarkTail10Of32MiB: `logs -n 10` of a 32 MiB log reads its end, not
// the whole file twice.
func BenchmarkTail10Of32MiB(b *testing.B) {
	path := b.TempDir() + "/ctr.log"
	var data []byte
	line := bytes.Repeat([]byte("y"), 200)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; len(data) < 32<<20; i++ {
		data, _ = AppendEntry(data, Entry{Time: t0.Add(time.Duration(i)), Stream: StreamStdout, Content: line})
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		if err := Read(b.Context(), path, ReadOptions{Tail: 10}, func(Entry) error { n++; return nil }); err != nil || n != 10 {
			b.Fatalf("read %d entries, %v", n, err)
		}
	}
}
