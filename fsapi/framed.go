package fsapi

import (
	"io"

	"nucleus.dev/nucleus/fsapi/wire"
)

// framed turns r into the helper's framed input: r's data, then the
// commit frame only if r ended with io.EOF. On any other error from r the
// input just ends, and the helper throws away what it wrote. Close stops
// the copy (its reader sees an error).
func framed(r io.Reader) *io.PipeReader {
	pr, pw := io.Pipe()
	go func() {
		fw := wire.FrameWriter{W: pw}
		buf := make([]byte, 256<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := fw.Write(buf[:n]); werr != nil {
					_ = pw.CloseWithError(werr)
					return
				}
			}
			if err == io.EOF {
				_ = pw.CloseWithError(fw.Commit())
				return
			}
			if err != nil {
				_ = pw.Close() // no commit: the helper discards the file
				return
			}
		}
	}()
	return pr
}
