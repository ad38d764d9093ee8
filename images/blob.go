package images

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// blobPath is where the verified blob of digest lives.
func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.blobDir(), strings.TrimPrefix(digest, "sha256:"))
}

// hasBlob reports whether a verified blob of digest is stored.
func (s *Store) hasBlob(digest string) bool {
	_, err := os.Lstat(s.blobPath(digest))
	return err == nil
}

// writeBlob stores r as the blob of digest: it streams into tmp/, hashed
// and counted, is refused unless its sha256 and size match (size < 0:
// unknown, then at most max bytes), then is fsync'd and renamed into
// blobs/ (whose directory is fsync'd too). An empty digest stores the blob
// under the digest it hashes to, which is returned.
func (s *Store) writeBlob(digest string, size, max int64, r io.Reader, counted func(int64)) (string, error) {
	if digest != "" {
		if _, ok := asDigest(digest); !ok {
			return "", errdefs.InvalidArgument("unsupported digest %q (sha256 only)", digest)
		}
		if s.hasBlob(digest) {
			return digest, nil
		}
	}
	limit := max
	if size >= 0 {
		limit = size
	}
	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	if counted != nil {
		w = io.MultiWriter(w, countFunc(counted))
	}
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err != nil && (size < 0 || n < size) {
		return "", fmt.Errorf("blob %s: %w", short(digest), err)
	}
	// A source that checks digests itself (go-containerregistry) fails only
	// once every byte is in: judge those bytes here, so a tampered blob is
	// reported as such, not as an I/O error.
	switch {
	case n > limit && size < 0:
		return "", errdefs.ResourceExhausted("blob is larger than %d bytes", max)
	case n != size && size >= 0:
		return "", errdefs.InvalidArgument("blob %s is %d bytes, its descriptor says %d", digest, n, size)
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if digest != "" && got != digest {
		return "", errdefs.InvalidArgument("blob content does not match its digest: got %s, expected %s", got, digest)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("images: sync blob: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), s.blobPath(got)); err != nil {
		return "", fmt.Errorf("images: store blob: %w", err)
	}
	return got, syncDir(s.blobDir())
}

// readBlob returns the stored blob of digest, verified again against it
// (small blobs: manifests and configs).
func (s *Store) readBlob(digest string, max int64) ([]byte, error) {
	f, err := os.Open(s.blobPath(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdefs.NotFound("blob %s is not stored", digest)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errdefs.ResourceExhausted("blob %s is larger than %d bytes", digest, max)
	}
	sum := sha256.Sum256(b)
	if "sha256:"+hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("stored blob %s no longer matches its digest: %w", digest, errdefs.ErrInternal)
	}
	return b, nil
}

// verifyingReader hashes what is read and, at EOF, fails unless the
// content hashes to digest: stored layers are never trusted unchecked.
type verifyingReader struct {
	r      io.Reader
	digest string
	h      interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func newVerifyingReader(r io.Reader, digest string) *verifyingReader {
	return &verifyingReader{r: r, digest: digest, h: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) && "sha256:"+hex.EncodeToString(v.h.Sum(nil)) != v.digest {
		return n, fmt.Errorf("stored blob no longer matches its digest %s: %w", v.digest, errdefs.ErrInternal)
	}
	return n, err
}

type countFunc func(int64)

func (c countFunc) Write(p []byte) (int, error) { c(int64(len(p))); return len(p), nil }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
