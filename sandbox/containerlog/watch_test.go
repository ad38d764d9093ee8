//go:build linux

package containerlog

import (
	"context"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Many followers of many logs share the one inotify instance of their
// Watcher: while they follow, the process opens no other, and each log
// directory has one watch, dropped when its last follower leaves.
func TestFollowersShareOneInotify(t *testing.T) {
	w := testWatcher(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before := countInotify(t)
	const logs, perLog = 5, 40
	var ws []*Writer
	var lines []<-chan string
	var results []<-chan error
	fctx, fcancel := context.WithCancel(ctx)
	for range logs {
		path := filepath.Join(t.TempDir(), "log")
		wr, err := NewWriter(path, Options{MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer wr.Close()
		ws = append(ws, wr)
		for range perLog {
			l, r := follow(fctx, path, ReadOptions{Watcher: w, Tail: -1})
			lines, results = append(lines, l), append(results, r)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for (w.watching() != logs || w.followers() != logs*perLog) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := w.watching(); n != logs {
		t.Fatalf("%d directories watched, want %d", n, logs)
	}
	if got := countInotify(t); got != before {
		t.Fatalf("%d followers opened %d inotify instances, want none beyond the shared one", logs*perLog, got-before)
	}
	for _, wr := range ws {
		if _, err := wr.Stdout().Write([]byte("hello\n")); err != nil {
			t.Fatal(err)
		}
		if err := wr.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for _, l := range lines {
		expect(t, l, "hello")
	}
	if d := time.Since(start); d > safetyPoll/2 {
		t.Fatalf("followers took %v to see new output: woken by the safety poll, not by inotify", d)
	}
	fcancel()
	for _, r := range results {
		<-r
	}
	if n := w.watching(); n != 0 {
		t.Fatalf("%d watches left after every follower left", n)
	}
}

// countInotify counts this process's inotify descriptors.
func countInotify(t *testing.T) int {
	t.Helper()
	n := 0
	for fd := range 4096 {
		var target [64]byte
		k, err := syscall.Readlink("/proc/self/fd/"+strconv.Itoa(fd), target[:])
		if err == nil && string(target[:k]) == "anon_inode:inotify" {
			n++
		}
	}
	return n
}
