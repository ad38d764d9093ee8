package containerlog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// waiters are the two ways a follower waits for output.
var waiters = []struct {
	name string
	opts ReadOptions
}{
	{"inotify", ReadOptions{}},
	{"poll", ReadOptions{noInotify: true, pollInterval: 2 * time.Millisecond}},
}

// testWatcher is a shared watcher for the test's followers.
func testWatcher(t *testing.T) *Watcher {
	t.Helper()
	w, err := NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// follow runs a following Read of path in a goroutine. Each emitted entry's
// content is sent on the returned channel, closed when Read returns; its
// result goes to the other.
func follow(ctx context.Context, path string, opts ReadOptions) (<-chan string, <-chan error) {
	opts.Follow = true
	lines, res := make(chan string), make(chan error, 1)
	go func() {
		err := Read(ctx, path, opts, func(e Entry) error {
			select {
			case lines <- string(e.Content):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(lines)
		res <- err
	}()
	return lines, res
}

func expect(t *testing.T, lines <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got, ok := <-lines:
			if !ok {
				t.Fatalf("Read returned before %q", w)
			}
			if got != w {
				t.Fatalf("got %q, want %q", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %q", w)
		}
	}
}

func result(t *testing.T, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return")
		return nil
	}
}

func TestFollowNewEntriesUntilDone(t *testing.T) {
	for _, wt := range waiters {
		t.Run(wt.name, func(t *testing.T) {
			path := logPath(t)
			w := mustWriter(t, path, Options{})
			mustWrite(t, w.Stdout(), "old\n")
			done := make(chan struct{})
			opts := wt.opts
			if wt.name == "inotify" {
				opts.Watcher = testWatcher(t)
			}
			opts.Tail, opts.Done = -1, done
			lines, res := follow(context.Background(), path, opts)
			expect(t, lines, "old")
			mustWrite(t, w.Stderr(), "new\n")
			expect(t, lines, "new")
			// Written after the last wake-up and before Done: still drained.
			mustWrite(t, w.Stdout(), "a\nb\nunfinished")
			w.Close()
			close(done)
			expect(t, lines, "a", "b", "unfinished")
			if err := result(t, res); err != nil {
				t.Fatalf("Read: %v", err)
			}
		})
	}
}

// TestFollowAcrossRotationsLockstep writes numbered lines in batches and
// waits for the follower to emit each batch before writing the next. A
// batch never fills a file, so at most one rotation happens while the
// follower is behind: no file is discarded unread, and the follower must
// see every number exactly once, in order, across dozens of rotations.
func TestFollowAcrossRotationsLockstep(t *testing.T) {
	for _, wt := range waiters {
		t.Run(wt.name, func(t *testing.T) {
			path := logPath(t)
			const maxBytes = 4096
			w := mustWriter(t, path, Options{MaxBytes: maxBytes, MaxEntrySize: 64})
			perFile := (maxBytes/2 - markerMaxLen) / len("2026-01-02T03:04:05.000000006Z stdout F 000000\n")
			done := make(chan struct{})
			opts := wt.opts
			if wt.name == "inotify" {
				opts.Watcher = testWatcher(t)
			}
			opts.Tail, opts.Done, opts.Streams = -1, done, Stdout
			lines, res := follow(context.Background(), path, opts)
			const n = 3000
			for i, batch := 0, 1; i < n; batch = batch%perFile + 1 {
				var want []string
				for ; len(want) < batch && i < n; i++ {
					s := fmt.Sprintf("%06d", i)
					mustWrite(t, w.Stdout(), s+"\n")
					want = append(want, s)
				}
				expect(t, lines, want...)
			}
			w.Close()
			close(done)
			if err := result(t, res); err != nil {
				t.Fatalf("Read: %v", err)
			}
			if rotated := fileSize(t, path+".1"); rotated == 0 {
				t.Fatal("no rotation")
			}
		})
	}
}

// TestFollowFastWriter: a writer that outruns the follower may rotate
// whole files away unread, but the follower never repeats or reorders an
// entry and ends with the newest one.
func TestFollowFastWriter(t *testing.T) {
	for _, wt := range waiters {
		t.Run(wt.name, func(t *testing.T) {
			path := logPath(t)
			w := mustWriter(t, path, Options{MaxBytes: 4096, MaxEntrySize: 64})
			done := make(chan struct{})
			opts := wt.opts
			if wt.name == "inotify" {
				opts.Watcher = testWatcher(t)
			}
			opts.Tail, opts.Done, opts.Streams, opts.Follow = -1, done, Stdout, true
			var got []int
			res := make(chan error, 1)
			go func() {
				res <- Read(context.Background(), path, opts, func(e Entry) error {
					n, err := strconv.Atoi(string(e.Content))
					got = append(got, n)
					return err
				})
			}()
			const n = 20000
			for i := range n {
				mustWrite(t, w.Stdout(), fmt.Sprintf("%d\n", i))
				if i%1000 == 0 {
					runtime.Gosched()
				}
			}
			w.Close()
			close(done)
			if err := result(t, res); err != nil {
				t.Fatalf("Read: %v", err)
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("entry %d: %d after %d", i, got[i], got[i-1])
				}
			}
			if len(got) == 0 || got[len(got)-1] != n-1 {
				t.Fatalf("last entry is not %d (got %d entries)", n-1, len(got))
			}
			t.Logf("follower saw %d of %d entries", len(got), n)
		})
	}
}

// TestFollowCancel: cancelling ctx ends a follower promptly, also one
// waiting for a log that does not exist yet, and leaks no goroutine.
func TestFollowCancel(t *testing.T) {
	for _, wt := range waiters {
		t.Run(wt.name, func(t *testing.T) {
			opts := wt.opts
			if wt.name == "inotify" {
				opts.Watcher = testWatcher(t) // its goroutine outlives the follower
			}
			base := runtime.NumGoroutine()
			path := logPath(t)
			ctx, cancel := context.WithCancel(context.Background())
			opts.Tail = -1
			lines, res := follow(ctx, path, opts)
			w, err := NewWriter(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, w.Stdout(), "appeared\n")
			expect(t, lines, "appeared")
			start := time.Now()
			cancel()
			if err := result(t, res); !errors.Is(err, context.Canceled) {
				t.Fatalf("Read: %v", err)
			}
			// With inotify the safety tick is 1s: cancel must not wait for it.
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("Read took %v to return after cancel", d)
			}
			w.Close()
			checkNoLeak(t, base)
		})
	}
}

// TestFollowTailZero: Tail 0 skips the history and follows new entries.
func TestFollowTailZero(t *testing.T) {
	path := logPath(t)
	w := mustWriter(t, path, Options{})
	mustWrite(t, w.Stdout(), "history\n")
	done := make(chan struct{})
	lines, res := follow(context.Background(), path, ReadOptions{Tail: 0, Done: done})
	// The follower may not have reached the end yet: write until it emits.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for got := ""; got == ""; {
		select {
		case got = <-lines:
			if got != "live" {
				t.Fatalf("got %q, want only live entries", got)
			}
		case <-tick.C:
			mustWrite(t, w.Stdout(), "live\n")
		}
	}
	w.Close()
	close(done)
	for range lines { // drain the other live entries
	}
	if err := result(t, res); err != nil {
		t.Fatal(err)
	}
}

// TestFollowPositioned: Positioned is called once the history is behind
// the follower; the first entry written after it is emitted (no retry
// loop needed, unlike TestFollowTailZero), and the history is not.
func TestFollowPositioned(t *testing.T) {
	path := logPath(t)
	w := mustWriter(t, path, Options{})
	mustWrite(t, w.Stdout(), "history\n")
	done := make(chan struct{})
	positioned := make(chan struct{})
	calls := 0
	lines, res := follow(context.Background(), path, ReadOptions{Tail: 0, Done: done, Positioned: func() { calls++; close(positioned) }})
	select {
	case <-positioned:
	case <-time.After(10 * time.Second):
		t.Fatal("Positioned was not called")
	}
	mustWrite(t, w.Stdout(), "first\n")
	select {
	case got := <-lines:
		if got != "first" {
			t.Fatalf("got %q, want the first entry written after Positioned", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the entry written after Positioned was not emitted")
	}
	w.Close()
	close(done)
	for range lines {
	}
	if err := result(t, res); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Positioned called %d times", calls)
	}
}
