package images

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// streamLayer gzips what gen writes, on the fly: nothing is stored, and
// generation stops once the reader is closed.
func streamLayer(t *testing.T, gen func(w io.Writer) error) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		err := gen(zw)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	t.Cleanup(func() { pr.CloseWithError(errors.New("test over")) })
	return pr
}

// writeZeros writes n zero bytes.
func writeZeros(w io.Writer, n int64) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// diskUsed is the bytes of disk blocks under dir.
func diskUsed(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		var st syscall.Stat_t
		if err == nil && syscall.Lstat(p, &st) == nil {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}

const tenGB = 10 << 30

func TestHostileZeroBomb(t *testing.T) {
	pol := Policy{MaxUnpackedBytes: 64 << 20}
	cases := map[string]func(w io.Writer) error{
		// One 10 GB file: refused at its header.
		"one-file": func(w io.Writer) error {
			tw := tar.NewWriter(w)
			if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Size: tenGB, Mode: 0o644}); err != nil {
				return err
			}
			return writeZeros(tw, tenGB)
		},
		// 10 GB as 1 MiB files: stops at the cap.
		"many-files": func(w io.Writer) error {
			tw := tar.NewWriter(w)
			for i := range tenGB >> 20 {
				if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("z/%d", i), Typeflag: tar.TypeReg, Size: 1 << 20, Mode: 0o644}); err != nil {
					return err
				}
				if err := writeZeros(tw, 1<<20); err != nil {
					return err
				}
			}
			return tw.Close()
		},
		// 10 GB of zeros and no tar at all: the tar ends at once, the
		// stream's length is capped while its digest is computed.
		"raw-zeros": func(w io.Writer) error { return writeZeros(w, tenGB) },
		// Sparse: a 10 GB file of holes in the PAX sparse format.
		"sparse": func(w io.Writer) error {
			tw := tar.NewWriter(w)
			hdr := &tar.Header{Name: "sparse", Typeflag: tar.TypeReg, Size: tenGB, Mode: 0o644, Format: tar.FormatPAX,
				PAXRecords: map[string]string{"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "sparse", "GNU.sparse.realsize": fmt.Sprint(int64(tenGB))}}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			return writeZeros(tw, tenGB)
		},
	}
	for name, gen := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHost(t)
			u, err := newUnpacker(h.root, pol.WithDefaults())
			if err != nil {
				t.Fatal(err)
			}
			defer u.close()
			start := time.Now()
			err = u.layer(streamLayer(t, gen), "sha256:"+fmt.Sprintf("%064d", 0))
			if !errors.Is(err, errdefs.ErrResourceExhausted) {
				t.Fatalf("10 GB bomb = %v, want ResourceExhausted", err)
			}
			if used := diskUsed(t, h.root); used > pol.MaxUnpackedBytes+8<<20 {
				t.Errorf("the bomb used %d bytes of disk, cap %d", used, pol.MaxUnpackedBytes)
			}
			if d := time.Since(start); d > 60*time.Second {
				t.Errorf("stopping the bomb took %v", d)
			}
			h.check()
		})
	}
}

func TestHostileMillionFiles(t *testing.T) {
	h := newHost(t)
	pol := Policy{MaxFilesPerLayer: 10_000}
	u, err := newUnpacker(h.root, pol.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer u.close()
	start := time.Now()
	layer := streamLayer(t, func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for i := range 1_000_000 {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f/%07d", i), Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
				return err
			}
		}
		return tw.Close()
	})
	err = u.layer(layer, "sha256:"+fmt.Sprintf("%064d", 0))
	if !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("1,000,000 files against a cap of 10,000 = %v, want ResourceExhausted", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("stopping at the file cap took %v", d)
	}
	h.check()
}
