package app

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// ttySession is the local side of an attachment to a container's
// terminal (run -it, attach): the local terminal in raw mode (restored by
// close, whatever ended the session), its sizes, and stdin filtered for
// the detach keys, which end the session (cancel) and leave the
// container running.
type ttySession struct {
	lt       *localTerminal
	stdin    io.Reader
	detached atomic.Bool
}

// openTTYSession prepares the session; with raw, a terminal on stdin is
// put in raw mode and its size followed. cancel ends the call on detach.
func (g *globals) openTTYSession(ctx context.Context, cancel context.CancelFunc, keys []byte, raw bool) (*ttySession, error) {
	s := &ttySession{lt: &localTerminal{fd: -1, stopSig: func() {}}}
	if raw {
		lt, err := g.openTerminal(ctx, g.env.Stdin)
		if err != nil {
			return nil, err
		}
		s.lt = lt
	}
	s.stdin = newDetachReader(g.env.Stdin, keys, func() {
		s.detached.Store(true)
		cancel()
	})
	return s, nil
}

// size is the local terminal's size, nil when stdin is not one.
func (s *ttySession) size() *nucleusv1.TerminalSize { return s.lt.size }

// resizes are the local terminal's size changes.
func (s *ttySession) resizes() <-chan *nucleusv1.TerminalSize {
	if s.lt.resize == nil {
		return nil
	}
	return s.lt.resize
}

// close restores the local terminal.
func (s *ttySession) close() { s.lt.restore() }

// detachedFrom is the outcome of a detach: exit 0 with a note on stderr
// (after the terminal is restored, so it starts on a clean line).
func (g *globals) detachedFrom(id string) error {
	fmt.Fprintf(g.env.Stderr, "\r\ndetached from container %s; it keeps running (nucleusctl attach %s)\n", shortID(id), shortID(id))
	return nil
}
