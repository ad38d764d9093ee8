package supervisor

import (
	"errors"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// The control protocol: on supervisor.sock (mode 0600, never abstract), a
// client sends one JSON request line and reads one JSON response line per
// connection. "wait" and "stop" answer once the container has exited; after
// an ok answer to "stdin" the connection carries raw stdin bytes.
const (
	OpStatus = "status" // -> Status
	OpStart  = "start"  // start a created container -> Status
	OpWait   = "wait"   // block until exit -> Status with Exit
	OpKill   = "kill"   // signal {signal, all}
	OpStop   = "stop"   // signal (default SIGTERM), SIGKILL after grace -> Status with Exit
	OpStdin  = "stdin"  // the connection becomes the container's stdin
	OpResize = "resize" // set a TTY container's terminal size {rows, cols}
)

// Request is one control request.
type Request struct {
	Op string `json:"op"`
	// Signal for kill and stop (stop: 0 means SIGTERM).
	Signal int `json:"signal,omitempty"`
	// All signals every process of the container (kill).
	All bool `json:"all,omitempty"`
	// Grace is the time between stop's first signal and SIGKILL.
	Grace time.Duration `json:"grace,omitempty"`
	// KeepOpen leaves the container's stdin open when this stdin
	// connection ends; by default its end closes stdin (EOF).
	KeepOpen bool `json:"keep_open,omitempty"`
	// Rows and Cols for resize: 0 keeps that side, larger than 4096 is
	// clamped.
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
}

// Response is the answer to a Request.
type Response struct {
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	Kind   string  `json:"kind,omitempty"`
	Status *Status `json:"status,omitempty"`
	// Idle, on the ready fd of a reusable supervisor only: its container's
	// life is over and it waits for another spec (reuse.go).
	Idle bool `json:"idle,omitempty"`
}

// Status is a supervised container's state as its supervisor (or, when the
// supervisor is gone, exit.json) tells it.
type Status struct {
	ID string `json:"id"`
	// State is created, running or stopped (specs.ContainerState).
	State specs.ContainerState `json:"state"`
	// SandboxPid is the host pid of the sandbox, 0 once it is gone.
	SandboxPid int `json:"sandbox_pid,omitempty"`
	// SupervisorPid is the supervisor's pid, 0 when it is gone.
	SupervisorPid int       `json:"supervisor_pid,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	// Exit is set once the container has exited.
	Exit *ExitStatus `json:"exit,omitempty"`
}

// kinds names the errdefs kinds on the wire.
var kinds = map[string]error{
	"invalid_argument":    errdefs.ErrInvalidArgument,
	"not_found":           errdefs.ErrNotFound,
	"already_exists":      errdefs.ErrAlreadyExists,
	"failed_precondition": errdefs.ErrFailedPrecondition,
	"permission_denied":   errdefs.ErrPermissionDenied,
	"resource_exhausted":  errdefs.ErrResourceExhausted,
	"unavailable":         errdefs.ErrUnavailable,
	"deadline_exceeded":   errdefs.ErrDeadlineExceeded,
}

func kindName(err error) string {
	k := errdefs.Kind(err)
	for name, kind := range kinds {
		if kind == k {
			return name
		}
	}
	return "internal"
}

// remoteError is an error reported by a supervisor, with its kind restored.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

func errorFromResponse(r *Response) error {
	kind, ok := kinds[r.Kind]
	if !ok {
		kind = errdefs.ErrInternal
	}
	msg := r.Error
	if msg == "" {
		msg = "supervisor request failed"
	}
	return &remoteError{msg: msg, kind: kind}
}

var errStdinTaken = errors.New("stdin is already attached or closed")
