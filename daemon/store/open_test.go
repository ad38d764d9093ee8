package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestNewStoreFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s := openTest(t, path, Options{})
	if info := s.Info(); !info.Created || info.Rebuilt {
		t.Errorf("Info() = %+v, want Created", info)
	}
	for _, p := range []string{path, path + ".lock"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 0600", p, fi.Mode().Perm())
		}
	}
}

// populated returns the path of a closed store holding n containers and
// events.
func populated(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c := testContainer(i, fmt.Sprintf("c%d", i))
		c.Labels = map[string]string{"pad": strings.Repeat("p", 512)}
		if err := s.CreateContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, s, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCorruptStoreIsSetAsideAndRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			writeFile(t, path, bytes.Repeat([]byte("not a bbolt file "), 4096))
		}},
		{"tiny", func(t *testing.T, path string) { writeFile(t, path, []byte("x")) }},
		{"truncated to half", func(t *testing.T, path string) { truncate(t, path, size(t, path)/2) }},
		{"truncated to two pages", func(t *testing.T, path string) { truncate(t, path, 8192) }},
		{"truncated unaligned", func(t *testing.T, path string) { truncate(t, path, 20000) }},
		{"meta pages zeroed", func(t *testing.T, path string) { overwrite(t, path, 0, make([]byte, 8192)) }},
		{"data pages garbled", func(t *testing.T, path string) {
			overwrite(t, path, 4*4096, bytes.Repeat([]byte{0xA5}, int(size(t, path))-4*4096))
		}},
		{"bad record", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte(bucketContainers)).Put([]byte(testID(0)), []byte("{not json"))
			})
		}},
		{"dangling name", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte(bucketNames)).Put([]byte("ghost"), []byte(testID(999)))
			})
		}},
		{"bucket missing", func(t *testing.T, path string) {
			withBolt(t, path, func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte(bucketEvents)) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := populated(t, 100)
			tc.corrupt(t, path)
			bad, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 7, 8, 9, 10, 11, 12, time.UTC)
			s := openTest(t, path, Options{Now: func() time.Time { return now }})
			info := s.Info()
			if !info.Rebuilt || info.Created || info.CorruptReason == "" {
				t.Fatalf("Info() = %+v, want Rebuilt with a reason", info)
			}
			if want := path + ".corrupt-20260708T091011.000000012Z"; info.CorruptPath != want {
				t.Errorf("CorruptPath = %q, want %q", info.CorruptPath, want)
			}
			if kept, err := os.ReadFile(info.CorruptPath); err != nil || !bytes.Equal(kept, bad) {
				t.Errorf("the corrupt file was not kept aside intact (%v)", err)
			}
			if all, err := s.ListContainers(nil); err != nil || len(all) != 0 {
				t.Errorf("rebuilt store has %d records, %v; want an empty store", len(all), err)
			}
			if err := s.CreateContainer(testContainer(0, "c0")); err != nil {
				t.Errorf("rebuilt store refuses writes: %v", err)
			}
			// Resuming subscribers must see sequences above any issued before.
			if seq, err := s.AppendEvent(testEvent()); err != nil || seq <= 100 {
				t.Errorf("first sequence after rebuild = %d, %v; want above the old 100", seq, err)
			}
			t.Logf("reason: %s", info.CorruptReason)
		})
	}
}

func TestLockedStoreFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	first := openTest(t, path, Options{})
	if err := first.CreateContainer(testContainer(0, "keep")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "another nucleusd") {
		t.Fatalf("second Open = %v, want Unavailable naming another nucleusd", err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond || waited > 5*time.Second {
		t.Errorf("second Open gave up after %s, want about the 300ms timeout", waited)
	}
	if _, err := first.GetContainer("keep"); err != nil {
		t.Errorf("the first store was disturbed: %v", err)
	}
	if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) != 0 {
		t.Errorf("a locked store was quarantined: %v", matches)
	}
}

func TestNewerSchemaIsRefusedNotQuarantined(t *testing.T) {
	path := populated(t, 1)
	withBolt(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaSchema), u64(schemaVersion+1))
	})
	_, err := Open(path, Options{})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("Open = %v, want FailedPrecondition", err)
	}
	if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) != 0 {
		t.Errorf("a newer store was quarantined: %v", matches)
	}
}
