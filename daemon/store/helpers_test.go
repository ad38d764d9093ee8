package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

func testID(i int) string { return fmt.Sprintf("%032x", i+1) }

func testContainer(i int, name string) *Container {
	return &Container{
		ID: testID(i), Name: name, OwnerUID: 1000, State: nucleusv1.ContainerState_CONTAINER_STATE_CREATING,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC), CreateStep: StepReserved,
		Spec: &nucleusv1.ContainerSpec{Name: name, Args: []string{"/bin/true"}},
	}
}

func openTest(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "nucleus.db")
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type boltTx = bolt.Tx

func containsBytes(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

func testEvent() *nucleusv1.Event {
	return &nucleusv1.Event{Type: nucleusv1.EventType_EVENT_TYPE_CREATED, ContainerId: testID(0)}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func truncate(t *testing.T, path string, n int64) {
	t.Helper()
	if err := os.Truncate(path, n); err != nil {
		t.Fatal(err)
	}
}

func overwrite(t *testing.T, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

// withBolt edits a closed store directly, below the Store's checks.
func withBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}
