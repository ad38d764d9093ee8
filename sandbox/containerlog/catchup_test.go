package containerlog

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"
)

// writeFile creates name holding one stdout entry per content string.
func writeFile(t *testing.T, name string, contents ...string) {
	t.Helper()
	var b []byte
	for _, c := range contents {
		var err error
		if b, err = AppendEntry(b, Entry{Time: time.Now(), Stream: StreamStdout, Content: []byte(c)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, name string, content string) {
	t.Helper()
	b, _ := AppendEntry(nil, Entry{Time: time.Now(), Stream: StreamStdout, Content: []byte(content)})
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestCatchUpRotationStates drives one follower's catchUp through the file
// layouts a writer passes through, including the ones that exist only for
// an instant (between rename and create) and a log removed and recreated.
func TestCatchUpRotationStates(t *testing.T) {
	path := logPath(t)
	old := path + ".1"
	var got []string
	r := &reader{path: path, opts: ReadOptions{Streams: AllStreams}, emit: func(e Entry) error {
		got = append(got, string(bytes.Clone(e.Content)))
		return nil
	}}
	defer r.closeCur()
	step := func(name string, want ...string) {
		t.Helper()
		got = got[:0]
		if err := r.catchUp(context.Background()); err != nil {
			t.Fatalf("%s: catchUp: %v", name, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: got %q, want %q", name, got, want)
		}
	}
	step("no log yet")
	// The follower arrives after a rotation: both files are new to it.
	writeFile(t, old, "a")
	writeFile(t, path, "b")
	step("appeared rotated", "a", "b")
	appendFile(t, path, "c")
	step("grown", "c")
	// Between the writer's rename and create: path is missing.
	appendFile(t, path, "d")
	if err := os.Rename(path, old); err != nil {
		t.Fatal(err)
	}
	step("mid-rotation", "d")
	step("still mid-rotation")
	writeFile(t, path, "e")
	step("rotation done", "e")
	// Two rotations while the follower sleeps: it still holds the file
	// that was discarded, so nothing is lost.
	appendFile(t, path, "f")
	os.Rename(path, old)
	writeFile(t, path, "g")
	os.Rename(path, old)
	writeFile(t, path, "h")
	step("two rotations", "f", "g", "h")
	// The log is removed, then a new one is created.
	os.Remove(path)
	os.Remove(old)
	step("removed")
	writeFile(t, path, "i")
	step("recreated", "i")
}

func TestSyncAfterRotation(t *testing.T) {
	path := logPath(t)
	w := mustWriter(t, path, Options{MaxEntrySize: 16, MaxBytes: minMaxBytes(16)})
	for range 20 {
		mustWrite(t, w.Stdout(), "0123456789\n")
	}
	if w.prev == nil || !w.dirDirty {
		t.Fatal("expected a rotation since the last sync")
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if w.prev != nil || w.dirDirty {
		t.Fatal("Sync left the rotated file or the directory unsynced")
	}
}
