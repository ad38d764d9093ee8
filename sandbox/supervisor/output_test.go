package supervisor

import (
	"bytes"
	"crypto/rand"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// slowWriter collects what the copier writes, slowly, like a busy disk.
type slowWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *slowWriter) Flush() error { return nil }

// TestDrainKeepsEverythingWithoutEOF: once the writer is done (the sandbox
// died), drain returns with every byte still in the pipe copied, although
// another holder of the write end (runsc's gofer) keeps EOF from coming.
func TestDrainKeepsEverythingWithoutEOF(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close() // the "gofer": open until the end of the test
	out := &slowWriter{}
	c := startCopier("stdout", r, out, zap.NewNop())
	want := make([]byte, 60<<10) // fits the pipe: the write returns at once
	if _, err := rand.Read(want); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	c.drain(time.Now().Add(drainTimeout))
	took := time.Since(begin)
	if !bytes.Equal(out.buf.Bytes(), want) {
		t.Fatalf("copied %d bytes of %d", out.buf.Len(), len(want))
	}
	if took > drainTimeout/2 {
		t.Fatalf("drain took %v: it waited for EOF", took)
	}
	t.Logf("drained in %v", took)
}
