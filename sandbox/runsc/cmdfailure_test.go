package runsc

import (
	"errors"
	"testing"
)

func TestCommandFailure(t *testing.T) {
	for msg, want := range map[string]int{
		"runsc start x: starting container: starting root container: starting sandbox: creating process: failed to load /nonexistent: no such file or directory (exit status 128)": ExitNotFound,
		`runsc exec x: executing command "nope" in sandbox: error finding executable "nope" in PATH [/usr/bin /bin]: no such file or directory (exit status 128)`:                  ExitNotFound,
		"runsc start x: creating process: failed to load /tmp/script: permission denied (exit status 128)":                                                                         ExitNotExecutable,
		"runsc start x: creating process: failed to load /bin/data: exec format error":                                                                                             ExitNotExecutable,
		"runsc create x: cannot read spec: no such file or directory":                                                                                                              0,
		"runsc kill x: permission denied": 0,
	} {
		if got := CommandFailure(errors.New(msg)); got != want {
			t.Errorf("CommandFailure(%q) = %d, want %d", msg, got, want)
		}
	}
	if CommandFailure(nil) != 0 {
		t.Error("nil error")
	}
}
