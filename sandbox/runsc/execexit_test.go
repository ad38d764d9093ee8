package runsc

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSignalExit(t *testing.T) {
	for _, c := range []struct {
		code int
		sent []unix.Signal
		want ExecExit
	}{
		{137, []unix.Signal{unix.SIGKILL}, ExecExit{Code: 137, Signal: unix.SIGKILL}},
		{143, []unix.Signal{unix.SIGINT, unix.SIGTERM}, ExecExit{Code: 143, Signal: unix.SIGTERM}},
		{137, nil, ExecExit{Code: 137}}, // exit(137) of its own: no signal was sent
		{3, []unix.Signal{unix.SIGINT}, ExecExit{Code: 3}},
	} {
		if got := SignalExit(c.code, c.sent); got != c.want {
			t.Errorf("SignalExit(%d, %v) = %+v, want %+v", c.code, c.sent, got, c.want)
		}
	}
}

func TestCommandFailureDetail(t *testing.T) {
	err := errors.New("invalid argument: runsc exec x: failed to load /nope: no such file or directory")
	if got := CommandFailureDetail(err); got != "failed to load /nope: no such file or directory" {
		t.Errorf("detail %q", got)
	}
	if got := CommandFailureDetail(errors.New("other")); got != "other" {
		t.Errorf("detail %q", got)
	}
}
