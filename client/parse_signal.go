package client

import (
	"strconv"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// signals are the Linux signal numbers by name (without "SIG"): the
// container is always Linux, whatever the client's OS.
var signals = map[string]uint32{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
	"TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
	"TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26,
	"PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}

// maxSignal is the highest Linux signal number (SIGRTMAX).
const maxSignal = 64

// ParseSignal reads a signal by name or number: "SIGTERM", "TERM", "term"
// and "15" are all 15. Zero and numbers above 64 are refused.
func ParseSignal(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		if n == 0 || n > maxSignal {
			return 0, errdefs.InvalidArgument("invalid signal %q: numbers run from 1 to %d", s, maxSignal)
		}
		return uint32(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, ok := signals[name]; ok {
		return n, nil
	}
	return 0, errdefs.InvalidArgument("invalid signal %q: want a name (SIGTERM, TERM) or a number (15)", s)
}
