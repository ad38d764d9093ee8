package runsc

import "strings"

// Exit codes a shell gives a command it could not run.
const (
	ExitNotExecutable = 126
	ExitNotFound      = 127
)

// CommandFailure reports whether err is runsc refusing to start a
// container's or exec's process because of its executable, and the exit
// code a shell would give: ExitNotFound when it does not exist,
// ExitNotExecutable when it exists but cannot be run. runsc says so only in
// its message ("failed to load X: ...", "error finding executable ..."), so
// that is what is read; any other error gives 0.
func CommandFailure(err error) int {
	if err == nil {
		return 0
	}
	msg := err.Error()
	if !strings.Contains(msg, "failed to load ") && !strings.Contains(msg, "error finding executable") {
		return 0
	}
	switch {
	case strings.Contains(msg, "no such file or directory"), strings.Contains(msg, "not a directory"):
		return ExitNotFound
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "exec format error"),
		strings.Contains(msg, "is a directory"):
		return ExitNotExecutable
	}
	return 0
}

// CommandFailureDetail is the part of a CommandFailure error that is
// runsc's own account ("failed to load /x: no such file or directory"),
// without what the layers above prefixed; the whole message when there is
// no such part.
func CommandFailureDetail(err error) string {
	msg := err.Error()
	for _, marker := range []string{"failed to load ", "error finding executable"} {
		if i := strings.Index(msg, marker); i >= 0 {
			return msg[i:]
		}
	}
	return msg
}
