package snapshots

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

const testID = "0123456789abcdef0123456789abcdef"

func writeSnapshot(t *testing.T, d *Dir) string {
	t.Helper()
	p, err := d.Begin(testID)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"checkpoint.img": "state", "pages.img": "memory"} {
		if err := os.WriteFile(filepath.Join(p.Path(), name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(d.Path(testID)); !os.IsNotExist(err) {
		t.Fatalf("snapshot visible before commit: %v", err)
	}
	if err := p.CommitUnsealed(); err != nil {
		t.Fatal(err)
	}
	digest, size, _, err := d.Seal(testID)
	if err != nil {
		t.Fatal(err)
	}
	if size < 11 {
		t.Fatalf("size %d", size)
	}
	return digest
}

func TestCommitVerifyAndModes(t *testing.T) {
	d, err := Open(t.TempDir(), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	digest := writeSnapshot(t, d)
	if err := d.Verify(testID, digest); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d.path, d.Path(testID)} {
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o700 {
			t.Errorf("%s is %v, want 0700", p, st.Mode().Perm())
		}
	}
	files, _ := filepath.Glob(filepath.Join(d.Path(testID), "*"))
	for _, f := range files {
		if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", f, st.Mode().Perm())
		}
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	for name, tamper := range map[string]func(dir string){
		"changed file": func(dir string) { os.WriteFile(filepath.Join(dir, "pages.img"), []byte("MEMORY"), 0o600) },
		"added file":   func(dir string) { os.WriteFile(filepath.Join(dir, "extra"), nil, 0o600) },
		"removed file": func(dir string) { os.Remove(filepath.Join(dir, "pages.img")) },
		"manifest":     func(dir string) { os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"files":[]}`), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			d, err := Open(t.TempDir(), func(string) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			digest := writeSnapshot(t, d)
			tamper(d.Path(testID))
			if err := d.Verify(testID, digest); !errors.Is(err, errdefs.ErrFailedPrecondition) {
				t.Fatalf("Verify after tampering: %v, want FailedPrecondition", err)
			}
		})
	}
}

func TestOpenRemovesLeftovers(t *testing.T) {
	root := t.TempDir()
	d, err := Open(root, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	writeSnapshot(t, d)
	if _, err := d.Begin("ffffffffffffffffffffffffffffffff"); err != nil {
		t.Fatal(err)
	}
	d, err = Open(root, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(d.path)
	if len(left) != 0 {
		t.Fatalf("left after Open: %v", left)
	}
}

func TestLimits(t *testing.T) {
	l := Limits{MaxBytes: 100, MaxBytesPerUID: 150, MaxTotalBytes: 300}
	for _, c := range []struct {
		size, owner, total int64
		ok                 bool
	}{{100, 50, 200, true}, {101, 0, 0, false}, {60, 100, 100, false}, {60, 0, 250, false}} {
		err := l.Check(c.size, c.owner, c.total)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, errdefs.ErrResourceExhausted)) {
			t.Errorf("Check(%d, %d, %d) = %v", c.size, c.owner, c.total, err)
		}
	}
}

// TestChunkedDigests: a file over several chunks gets one digest per chunk
// (the last one short), each the sha256 of its span; Verify notices a
// changed byte in the middle chunk and a file cut by one byte.
func TestChunkedDigests(t *testing.T) {
	d, err := Open(t.TempDir(), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Begin(testID)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 2*ChunkSize+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	pages := filepath.Join(p.Path(), "pages.img")
	if err := os.WriteFile(pages, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.CommitUnsealed(); err != nil {
		t.Fatal(err)
	}
	digest, size, _, err := d.Seal(testID)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(d.Path(testID), ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 || len(m.Files[0].Chunks) != 3 || size != int64(len(data)+len(raw)) {
		t.Fatalf("manifest %+v, size %d", m.Files, size)
	}
	for i, sum := range m.Files[0].Chunks {
		span := data[i*ChunkSize : min((i+1)*ChunkSize, len(data))]
		if want := sha256.Sum256(span); sum != hex.EncodeToString(want[:]) {
			t.Errorf("chunk %d digest %s, want sha256 of its span", i, sum)
		}
	}
	if err := d.Verify(testID, digest); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join(d.Path(testID), "pages.img")
	data[ChunkSize+5] ^= 1
	if err := os.WriteFile(committed, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(testID, digest); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("a changed byte in chunk 1: %v", err)
	}
	data[ChunkSize+5] ^= 1
	if err := os.WriteFile(committed, data[:len(data)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(testID, digest); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("a file one byte short: %v", err)
	}
}

// TestLegacyWholeFileDigest: a manifest written before chunked digests
// (one sha256 per file) still verifies, and a manifest entry with neither
// form never does.
func TestLegacyWholeFileDigest(t *testing.T) {
	d, err := Open(t.TempDir(), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	dir := d.Path(testID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pages.img"), []byte("memory"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("memory"))
	for _, tc := range []struct {
		entry FileEntry
		ok    bool
	}{
		{FileEntry{Name: "pages.img", Size: 6, SHA256: hex.EncodeToString(sum[:])}, true},
		{FileEntry{Name: "pages.img", Size: 6}, false},
	} {
		raw, _ := json.Marshal(manifest{Files: []FileEntry{tc.entry}})
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := d.Verify(testID, digestOf(raw)); (err == nil) != tc.ok {
			t.Errorf("%+v: verify %v, want ok=%v", tc.entry, err, tc.ok)
		}
	}
}

// TestResealAndSignature: a seal interrupted after its manifest was written
// (a daemon crash) is redone from the start with the same digest; the
// signature holds until a file is rewritten, added or truncated.
func TestResealAndSignature(t *testing.T) {
	d, err := Open(t.TempDir(), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	first := writeSnapshot(t, d)
	again, _, sig, err := d.Seal(testID)
	if err != nil || again != first {
		t.Fatalf("reseal: %s vs %s, %v", again, first, err)
	}
	if !d.Unchanged(testID, sig) {
		t.Fatal("a fresh seal's signature does not match its files")
	}
	if d.Unchanged(testID, nil) || d.Unchanged("../x", sig) {
		t.Fatal("an empty signature or a bad id matched")
	}
	pages := filepath.Join(d.Path(testID), "pages.img")
	for name, change := range map[string]func() error{
		"rewritten (same size)": func() error { return os.WriteFile(pages, []byte("MEMORY"), 0o600) },
		"added":                 func() error { return os.WriteFile(filepath.Join(d.Path(testID), "extra"), nil, 0o600) },
		"truncated":             func() error { return os.Truncate(pages, 1) },
	} {
		_, _, sig, err := d.Seal(testID)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // a new change time, whatever the clock's grain
		if err := change(); err != nil {
			t.Fatal(err)
		}
		if d.Unchanged(testID, sig) {
			t.Errorf("%s: the signature still matches", name)
		}
		_ = os.Remove(filepath.Join(d.Path(testID), "extra"))
	}
}
