package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Exit reasons.
const (
	ReasonExited  = "exited"  // the process ended on its own
	ReasonKilled  = "killed"  // Stop, Kill or Delete, or the sandbox died of a signal
	ReasonTimeout = "timeout" // the max runtime was reached
	ReasonOOM     = "oom"     // the host OOM killer struck the sandbox's cgroup
	ReasonError   = "error"   // create or start failed
	ReasonLost    = "lost"    // the supervisor vanished without recording a status
)

// ExitStatus is how a container ended; the supervisor records it in
// exit.json before it exits.
type ExitStatus struct {
	// ExitCode is the exit code, 128+signal when killed by a signal, -1 when
	// the process never ran or the status was lost.
	ExitCode int `json:"exit_code"`
	// Signal is the signal that killed it when known, else 0.
	Signal int `json:"signal,omitempty"`
	// OOMKilled is set when the memory cgroup's oom_kill count moved.
	OOMKilled bool `json:"oom_killed,omitempty"`
	// Reason is one of the Reason constants.
	Reason string `json:"reason"`
	// Message is human-readable detail.
	Message string `json:"message,omitempty"`
	// StopEscalated is set when a stop's grace period ran out and SIGKILL
	// followed its first signal.
	StopEscalated bool `json:"stop_escalated,omitempty"`
	// StartedAt and FinishedAt bound the run (StartedAt zero if it never
	// started).
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at"`
}

// WriteExit records st at path durably (write, fsync, rename, fsync dir).
func WriteExit(path string, st ExitStatus) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// ReadExit reads the exit status recorded at path; the error wraps
// fs.ErrNotExist when there is none.
func ReadExit(path string) (ExitStatus, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ExitStatus{}, err
	}
	var st ExitStatus
	if err := json.Unmarshal(data, &st); err != nil {
		return ExitStatus{}, fmt.Errorf("decoding %s: %w", path, err)
	}
	return st, nil
}
