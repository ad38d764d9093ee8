package fsapi

import (
	"encoding/binary"
	"io"
	"sync"

	"nucleus.dev/nucleus/fsapi/wire"
)

// framedInput is the helper's framed stdin made from r: r's data, then
// the commit frame only if r ended with io.EOF. On any other error from r
// the input just ends, and the helper throws away what it wrote.
type framedInput struct {
	r    io.Reader
	once sync.Once
	pr   *io.PipeReader // Read's source, started on first use
}

func framed(r io.Reader) *framedInput { return &framedInput{r: r} }

// WriteTo writes the frames straight to w (the exec's stdin pipe), one
// write per frame: what io.Copy uses.
func (f *framedInput) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 4+wire.MaxFrame)
	var total int64
	for {
		n, err := f.r.Read(buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			m, werr := w.Write(buf[:4+n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			m, werr := w.Write(make([]byte, 4)) // the commit frame
			return total + int64(m), werr
		}
		if err != nil {
			return total, nil // no commit: the helper discards the file
		}
	}
}

// Read serves readers that do not use WriteTo, through a pipe.
func (f *framedInput) Read(p []byte) (int, error) {
	f.once.Do(func() {
		pr, pw := io.Pipe()
		f.pr = pr
		go func() {
			_, err := f.WriteTo(pw)
			_ = pw.CloseWithError(err)
		}()
	})
	return f.pr.Read(p)
}

// Close stops a Read copy.
func (f *framedInput) Close() error {
	f.once.Do(func() {})
	if f.pr != nil {
		return f.pr.Close()
	}
	return nil
}
