package app

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/client/clienttest"
)

// testNow is the clock every test runs at.
var testNow = time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)

// result is what one nucleusctl invocation did.
type result struct {
	code           int
	stdout, stderr string
}

// invocation configures cli.
type invocation struct {
	stdin   string
	env     map[string]string
	signals func(chan<- os.Signal) // called with the channel Notify registered
}

// cli runs nucleusctl against f (nil: an address nothing listens on).
func cli(t *testing.T, f *clienttest.Fake, args ...string) result {
	t.Helper()
	return cliWith(t, f, invocation{}, args...)
}

func cliWith(t *testing.T, f *clienttest.Fake, inv invocation, args ...string) result {
	t.Helper()
	addr := "unix:///nonexistent/nucleusd.sock"
	if f != nil {
		addr = f.Serve(t)
	}
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(inv.stdin), Stdout: &stdout, Stderr: &stderr,
		LookupEnv: func(k string) (string, bool) { v, ok := inv.env[k]; return v, ok },
		Now:       func() time.Time { return testNow },
		Notify: func(c chan<- os.Signal, _ ...os.Signal) {
			if inv.signals != nil {
				go inv.signals(c)
			}
		},
		StopNotify: func(chan<- os.Signal) {},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Execute(ctx, append([]string{"--address", addr}, args...), env)
	return result{code, stdout.String(), stderr.String()}
}

// wantCode fails the test unless r exited with code; on 125 it also checks
// that stderr is exactly one "nucleusctl: " line.
func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if code == ExitFailure {
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "nucleusctl: ") {
			t.Fatalf("stderr is not one nucleusctl line: %q", r.stderr)
		}
	}
}
