package snapshots

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// ChunkSize is the span of a file that one digest of a manifest covers. A
// snapshot's memory file is one large file: hashed in chunks, it is hashed
// on every core at once (a checkpoint answers that much sooner; a restore
// verifies that much sooner), and the fsync runs beside the hashing.
const ChunkSize = 8 << 20

// hashChunks returns the sha256 of every ChunkSize span of path (one for an
// empty file) and its size, reading with up to workers preads at a time.
// With durable the file is also made 0600 and fsync'd, concurrently.
func hashChunks(path string, durable bool, workers int) ([]string, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := info.Size()
	var syncErr error
	var syncing sync.WaitGroup
	if durable {
		if err := f.Chmod(0o600); err != nil {
			return nil, 0, err
		}
		syncing.Add(1)
		go func() {
			defer syncing.Done()
			if err := f.Sync(); err != nil {
				syncErr = fmt.Errorf("fsync %s: %w", path, err)
			}
		}()
	}
	n := int((size + ChunkSize - 1) / ChunkSize)
	if n == 0 {
		n = 1
	}
	sums := make([]string, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(workers, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sums[i], errs[i] = hashSpan(f, int64(i)*ChunkSize, min(ChunkSize, size-int64(i)*ChunkSize))
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	syncing.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, 0, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if syncErr != nil {
		return nil, 0, syncErr
	}
	// A file that grew or shrank while it was read is not what the
	// digests describe.
	if after, err := f.Stat(); err != nil || after.Size() != size {
		return nil, 0, fmt.Errorf("%s changed size while it was hashed", path)
	}
	return sums, size, nil
}

// hashSpan returns the sha256 of n bytes of f at off; fewer bytes is an error.
func hashSpan(f *os.File, off, n int64) (string, error) {
	h := sha256.New()
	got, err := io.Copy(h, io.NewSectionReader(f, off, n))
	if err != nil {
		return "", err
	}
	if got != n {
		return "", fmt.Errorf("read %d of %d bytes at %d", got, n, off)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashWorkers is how many chunks are hashed at once: one per core.
func hashWorkers() int { return runtime.GOMAXPROCS(0) }
