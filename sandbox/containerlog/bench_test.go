package containerlog

import (
	"bytes"
	"path/filepath"
	"testing"
)

// BenchmarkWrite measures write throughput (MB/s of container output) for
// 32 KiB pipe reads of lines of several lengths, with rotation at the
// default cap.
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		line int
	}{
		{"line=2", 2}, {"line=80", 80}, {"line=1KiB", 1 << 10}, {"line=64KiB", 64 << 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			line := append(bytes.Repeat([]byte("x"), bc.line-1), '\n')
			chunk := bytes.Repeat(line, (32<<10)/len(line)+1)[:32<<10]
			w, err := NewWriter(filepath.Join(b.TempDir(), "ctr.log"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				if _, err := w.Stdout().Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
