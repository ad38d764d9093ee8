package client

import (
	"context"
	"io"
	"sync"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// inputSender sends the client-side messages of an attached stream.
type inputSender struct {
	stdin  func([]byte) error
	close  func() error
	signal func(uint32) error
}

// pumpInput forwards stdin chunks, then a stdin close at EOF, and every value
// of signals, until ctx is done or a send fails (the receiving side then
// reports the stream's error). It sends from one goroutine, as gRPC streams
// require. A Read of stdin in progress when ctx ends is left behind: a
// blocking Read cannot be interrupted.
func pumpInput(ctx context.Context, stdin io.Reader, signals <-chan uint32, s inputSender) {
	var chunks chan []byte
	var eof chan struct{}
	if stdin != nil {
		chunks, eof = make(chan []byte), make(chan struct{})
		go readChunks(ctx, stdin, chunks, eof)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-chunks:
			if s.stdin(b) != nil {
				return
			}
		case <-eof:
			eof = nil
			if s.close() != nil {
				return
			}
		case sig, ok := <-signals:
			if !ok {
				signals = nil
				continue
			}
			if s.signal(sig) != nil {
				return
			}
		}
	}
}

// readChunks copies r into chunks and closes eof when r ends (EOF or error).
func readChunks(ctx context.Context, r io.Reader, chunks chan<- []byte, eof chan<- struct{}) {
	defer close(eof)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			b := append([]byte(nil), buf[:n]...)
			select {
			case chunks <- b:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// orDiscard returns w, or io.Discard when w is nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// lockedSend serialises sends on one stream from several goroutines.
func lockedSend[T any](send func(T) error) func(T) error {
	var mu sync.Mutex
	return func(m T) error {
		mu.Lock()
		defer mu.Unlock()
		return send(m)
	}
}

// pumpResize sends every terminal size of resize until ctx is done or a
// send fails.
func pumpResize(ctx context.Context, resize <-chan *nucleusv1.TerminalSize, send func(*nucleusv1.TerminalSize) error) {
	if resize == nil {
		return
	}
	for {
		select {
		case ts := <-resize:
			if send(ts) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
