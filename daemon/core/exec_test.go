package core

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/sandbox"
)

func TestExecExit(t *testing.T) {
	for _, c := range []struct {
		name     string
		ex       sandbox.ExecExit
		timedOut bool
		code     int32
		signal   int32
		reason   string
	}{
		{"exit", sandbox.ExecExit{Code: 3}, false, 3, 0, ReasonExited},
		{"signal", sandbox.ExecExit{Code: 130, Signal: unix.SIGINT}, false, 130, 2, ReasonKilled},
		{"timeout", sandbox.ExecExit{Code: 137, Signal: unix.SIGKILL}, true, 137, 9, ReasonTimeout},
		// It exited on its own as the timeout came: no signal to report.
		{"timeout without a signal", sandbox.ExecExit{Code: 1}, true, 1, 0, ReasonTimeout},
	} {
		st := execExit(c.ex, c.timedOut, time.Second)
		if st.GetExitCode() != c.code || st.GetSignal() != c.signal || st.GetReason() != c.reason || st.GetMessage() == "" {
			t.Errorf("%s: %v; want code %d signal %d reason %s", c.name, st, c.code, c.signal, c.reason)
		}
	}
}

func TestValidSignal(t *testing.T) {
	for _, n := range []uint32{0, 65, 1 << 31} {
		if _, err := ValidSignal(n); err == nil {
			t.Errorf("ValidSignal(%d) accepted", n)
		}
	}
	if s, err := ValidSignal(2); err != nil || s != unix.SIGINT {
		t.Errorf("ValidSignal(2) = %v, %v", s, err)
	}
}
