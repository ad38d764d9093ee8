package containerlog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
)

// completeEnd is the offset just after the last newline in f's first size
// bytes (0 when there is none): the end of its complete lines.
func completeEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, readBufSize)
	for pos := size; pos > 0; {
		n := min(int64(len(buf)), pos)
		chunk := buf[:n]
		if _, err := f.ReadAt(chunk, pos-n); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read container log %s: %w", f.Name(), err)
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return pos - n + int64(i) + 1, nil
		}
		pos -= n
	}
	return 0, nil
}

// scanBackward calls fn with the complete lines of f before end (an offset
// just after a newline, or 0), newest first, each with the offset where it
// starts, until fn returns true. Lines longer than maxLineLen are passed
// over, as lineReader skips them. line is valid only during the call.
func scanBackward(ctx context.Context, f *os.File, end int64, fn func(line []byte, start int64) bool) error {
	if end <= 0 {
		return nil
	}
	buf := make([]byte, readBufSize)
	var acc []byte    // the end of the line being read, when it spans chunks
	overlong := false // that line is longer than maxLineLen
	pos := end - 1    // the newline ending the newest line is left out
	for pos > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(int64(len(buf)), pos)
		chunk := buf[:n]
		if _, err := f.ReadAt(chunk, pos-n); err != nil && err != io.EOF {
			return fmt.Errorf("read container log %s: %w", f.Name(), err)
		}
		for {
			i := bytes.LastIndexByte(chunk, '\n')
			if i < 0 {
				if overlong = overlong || len(acc)+len(chunk) > maxLineLen; !overlong {
					acc = append(append(make([]byte, 0, len(chunk)+len(acc)), chunk...), acc...)
				}
				break
			}
			line := chunk[i+1:]
			if len(acc) > 0 {
				line = append(append(make([]byte, 0, len(line)+len(acc)), line...), acc...)
			}
			if !overlong && len(line) <= maxLineLen && fn(line, pos-n+int64(i)+1) {
				return nil
			}
			chunk, acc, overlong = chunk[:i], nil, false
		}
		pos -= n
	}
	if !overlong && len(acc) <= maxLineLen {
		fn(acc, 0)
	}
	return nil
}
