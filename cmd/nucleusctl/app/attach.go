package app

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"
)

// forwarder relays the signals nucleusctl gets while attached to a container
// or exec: SIGINT and SIGTERM are forwarded to the process; a second SIGINT
// is not forwarded but stops waiting (the process keeps running).
type forwarder struct {
	// Signals carries the signal numbers to forward.
	Signals <-chan uint32
	stopped atomic.Bool
	done    chan struct{}
	osSig   chan os.Signal
	env     Env
}

// forwardSignals starts relaying; stopWaiting is called on the second SIGINT.
func (g *globals) forwardSignals(stopWaiting context.CancelFunc) *forwarder {
	out := make(chan uint32, 8)
	f := &forwarder{Signals: out, done: make(chan struct{}), osSig: make(chan os.Signal, 8), env: g.env}
	g.env.Notify(f.osSig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		interrupts := 0
		for {
			select {
			case <-f.done:
				return
			case s := <-f.osSig:
				sig, ok := s.(syscall.Signal)
				if !ok {
					continue
				}
				if sig == syscall.SIGINT {
					if interrupts++; interrupts > 1 {
						f.stopped.Store(true)
						stopWaiting()
						continue
					}
				}
				select {
				case out <- uint32(sig):
				default: // the process is not taking signals; drop
				}
			}
		}
	}()
	return f
}

// StoppedWaiting reports whether a second Ctrl-C ended the wait.
func (f *forwarder) StoppedWaiting() bool { return f.stopped.Load() }

// Close stops relaying and restores the default signal handling.
func (f *forwarder) Close() {
	f.env.StopNotify(f.osSig)
	close(f.done)
}
