package runsc

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

var errFailedPrecondition = errdefs.ErrFailedPrecondition

// maxSignal is the highest signal number Linux has (SIGRTMAX).
const maxSignal = 64

// ParseSignal accepts a signal by number ("9"), by name ("KILL", "SIGKILL",
// case-insensitive) and returns it; anything else is InvalidArgument.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > maxSignal {
			return 0, invalid("signal %d out of range 1-%d", n, maxSignal)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, invalid("unknown signal %q", s)
}
