package snapshots

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// ManifestFile lists a snapshot's files; it is not itself listed.
const ManifestFile = "manifest.json"

// FileEntry is one file of a snapshot.
type FileEntry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// SHA256 is the digest of the whole file (snapshots made before
	// chunked digests).
	SHA256 string `json:"sha256,omitempty"`
	// Chunks are the sha256 digests of every ChunkSize span of the file,
	// in order.
	Chunks []string `json:"chunks,omitempty"`
}

type manifest struct {
	Files  []FileEntry `json:"files"`
	digest string
	size   int64
}

// listFiles returns the regular files of dir, sorted, without the
// manifest; anything else (a directory, a symlink) is an error: runsc
// writes plain files only.
func listFiles(dir string) ([]FileEntry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []FileEntry
	for _, e := range entries {
		if e.Name() == ManifestFile {
			continue
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s in %s is not a regular file", e.Name(), dir)
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, FileEntry{Name: e.Name(), Size: info.Size()})
	}
	slices.SortFunc(out, func(a, b FileEntry) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return out, nil
}

// hashFile returns the sha256 of the whole file at path: how snapshots
// made before chunked digests are verified.
func hashFile(path string) (string, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeManifest fsyncs and hashes every file of dir and writes the
// manifest durably.
func writeManifest(dir string) (*manifest, error) {
	files, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	m := &manifest{Files: []FileEntry{}}
	for _, f := range files {
		sums, n, err := hashChunks(filepath.Join(dir, f.Name), true, hashWorkers())
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, FileEntry{Name: f.Name, Size: n, Chunks: sums})
		m.size += n
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ManifestFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	m.size += int64(len(data))
	m.digest = digestOf(data)
	return m, nil
}

// matches reports whether the file at path has want's size and digests.
func matches(path string, want FileEntry) bool {
	if len(want.Chunks) > 0 {
		sums, n, err := hashChunks(path, false, hashWorkers())
		return err == nil && n == want.Size && slices.Equal(sums, want.Chunks)
	}
	sum, n, err := hashFile(path)
	return err == nil && want.SHA256 != "" && sum == want.SHA256 && n == want.Size
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Verify checks snapshot id's files against its manifest and the manifest
// against digest: FailedPrecondition when anything differs (a file
// changed, added or removed).
func (d *Dir) Verify(id, digest string) error {
	dir := d.Path(id)
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return errdefs.FailedPrecondition("snapshot %s is damaged: reading its manifest: %v", id, err)
	}
	if got := digestOf(data); got != digest {
		return errdefs.FailedPrecondition("snapshot %s is damaged: its manifest's digest is %s, the record says %s", id, got, digest)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return errdefs.FailedPrecondition("snapshot %s is damaged: decoding its manifest: %v", id, err)
	}
	files, err := listFiles(dir)
	if err != nil {
		return errdefs.FailedPrecondition("snapshot %s is damaged: %v", id, err)
	}
	if len(files) != len(m.Files) {
		return errdefs.FailedPrecondition("snapshot %s is damaged: it holds %d files, its manifest lists %d", id, len(files), len(m.Files))
	}
	for i, want := range m.Files {
		if files[i].Name != want.Name {
			return errdefs.FailedPrecondition("snapshot %s is damaged: file %s is not in its manifest", id, files[i].Name)
		}
		if !matches(filepath.Join(dir, want.Name), want) {
			return errdefs.FailedPrecondition("snapshot %s is damaged: %s does not match its digest", id, want.Name)
		}
	}
	return nil
}
