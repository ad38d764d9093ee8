package app

import (
	"io"
	"os"
	"os/signal"
	"time"
)

// Env is what a command uses besides its flags: the standard streams, the
// environment, the clock and signal delivery. Tests replace all of them.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// LookupEnv reads the caller's environment (flag defaults, bare -e K).
	LookupEnv func(string) (string, bool)
	// Now is the clock for "5 seconds ago" and relative --since.
	Now func() time.Time
	// Notify and StopNotify subscribe to signals, as os/signal does.
	Notify     func(c chan<- os.Signal, sig ...os.Signal)
	StopNotify func(c chan<- os.Signal)
}

// OSEnv is the real process environment.
func OSEnv() Env {
	return Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		LookupEnv: os.LookupEnv, Now: time.Now,
		Notify: signal.Notify, StopNotify: signal.Stop,
	}
}

// getenv returns the variable key, or def when it is unset or empty.
func (e Env) getenv(key, def string) string {
	if v, ok := e.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
