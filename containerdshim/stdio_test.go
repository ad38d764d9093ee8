package containerdshim

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStdinReaderDrainsAfterClose: what a client wrote before CloseIO is
// still read when the reader gets to it only after the close, whether the
// writer has closed its end (ctr) or keeps it open (the CRI plugin); then
// the stream ends with EOF.
func TestStdinReaderDrainsAfterClose(t *testing.T) {
	const input = "one\ntwo\nthree\n"
	for _, keepOpen := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "stdin")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		r := &stdinReader{path: path}
		writer := make(chan *os.File, 1)
		go func() {
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
			}
			writer <- w
		}()
		r.once.Do(r.open) // as the first Read does: until the writer is there
		w := <-writer
		if w == nil {
			t.FailNow()
		}
		if _, err := w.Write([]byte(input)); err != nil {
			t.Fatal(err)
		}
		if !keepOpen {
			w.Close()
		}
		r.Close() // CloseIO before the reader read anything
		begin := time.Now()
		got, err := io.ReadAll(r)
		if err != nil || string(got) != input {
			t.Errorf("writer kept open %v: read %q, %v; want %q", keepOpen, got, err, input)
		}
		if took := time.Since(begin); took > 2*time.Second {
			t.Errorf("writer kept open %v: EOF only after %v", keepOpen, took)
		}
		w.Close()
	}
}
