// Package supervisor is the per-container process that outlives nucleusd
// (like containerd's shim or CRI-O's conmon) and the daemon's client for it.
//
// A supervisor is the nucleus-supervisor executable (or nucleusd in a hidden
// mode; both run Main), in its own session, detached from the daemon. A
// Spawner keeps one started ahead of need that waits for its spec. It is a child subreaper: `runsc create`
// leaves the sandbox process behind and the sandbox is reparented to the
// supervisor, which therefore reaps it and learns of every death, an OOM kill
// of the sentry included. It holds the container's stdio and writes it to the
// container log, forwards stdin, enforces the max runtime, and records the
// exit status durably (exit.json, written with fsync and rename) before it
// exits. The daemon finds it again after a restart through its directory
// (also its working directory): supervisor.pid, supervisor.sock (JSON-lines
// protocol, mode 0600), spec.json.
package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// Files in a supervisor's directory.
const (
	SpecFile    = "spec.json"       // the Spec, written by Spawn
	PidFile     = "supervisor.pid"  // the supervisor's pid, removed last at exit
	LockFile    = "supervisor.lock" // flocked by the supervisor for its whole life
	SocketFile  = "supervisor.sock"
	LogFile     = "supervisor.log" // its own diagnostics (zap JSON)
	SandboxPid  = "sandbox.pid"    // written by runsc create --pid-file
	readyFDFlag = "--ready-fd"
	specFlag    = "--spec"
	specFDFlag  = "--spec-fd"
	parentFlag  = "--parent"
	reuseFlag   = "--reuse"
)

// Spec is everything a supervisor needs; Spawn writes it to Dir/spec.json.
type Spec struct {
	// ID is the container id, also the runsc id: 32 lowercase hex characters,
	// so no id is a prefix of another (runsc matches ids by prefix).
	ID string `json:"id"`
	// Bundle is the OCI bundle directory.
	Bundle string `json:"bundle"`
	// Runsc is the driver configuration (binary, --root, flags).
	Runsc runsc.Runsc `json:"runsc"`
	// Dir is the supervisor's directory (pid file, socket, its log).
	Dir string `json:"dir"`
	// LogPath is the container log; LogMaxBytes caps it (0: the default).
	LogPath     string `json:"log_path"`
	LogMaxBytes int64  `json:"log_max_bytes,omitempty"`
	// LogMinFreeBytes drops output while the log's file system has less
	// free space (0: never).
	LogMinFreeBytes int64 `json:"log_min_free_bytes,omitempty"`
	// ExitPath is where the exit status is recorded (exit.json).
	ExitPath string `json:"exit_path"`
	// OpenStdin keeps the container's stdin open for the "stdin" request;
	// otherwise stdin is /dev/null.
	OpenStdin bool `json:"open_stdin,omitempty"`
	// Terminal: the container's process runs on a pseudo-terminal whose
	// master runsc sends to ConsoleFile; the supervisor keeps it (output
	// to the log as stdout, stdin from "stdin" connections, "resize").
	// TerminalRows and TerminalCols are its size at start (0: 24x80).
	Terminal     bool   `json:"terminal,omitempty"`
	TerminalRows uint16 `json:"terminal_rows,omitempty"`
	TerminalCols uint16 `json:"terminal_cols,omitempty"`
	// Timeout is the max runtime after start; 0 means none.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Start starts the container right after create, without waiting for a
	// "start" request.
	Start bool `json:"start,omitempty"`
	// CreateTimeout bounds runsc create; 0 means one minute.
	CreateTimeout time.Duration `json:"create_timeout,omitempty"`
	// Restore, when set, makes the start a `runsc restore` from a
	// checkpoint image instead of a plain start.
	Restore *runsc.RestoreOptions `json:"restore,omitempty"`
	// Pod, when set, is the container whose sandbox this one joins (its
	// bundle names it): the sandbox is not this supervisor's child, so the
	// supervisor learns of its container's exit from the sandbox (runsc
	// wait) instead of reaping the sandbox, and never kills the sandbox
	// itself.
	Pod string `json:"pod,omitempty"`
}

// maxSocketPath is sizeof(sockaddr_un.sun_path) on Linux.
const maxSocketPath = 108

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidID reports whether id is a container id: 32 lowercase hex characters.
func ValidID(id string) error {
	if !idPattern.MatchString(id) {
		return errdefs.InvalidArgument("container id %q is not 32 lowercase hex characters", id)
	}
	return nil
}

// Validate checks the spec.
func (s *Spec) Validate() error {
	if err := ValidID(s.ID); err != nil {
		return err
	}
	for name, p := range map[string]string{"bundle": s.Bundle, "dir": s.Dir, "log_path": s.LogPath, "exit_path": s.ExitPath} {
		if !filepath.IsAbs(p) {
			return errdefs.InvalidArgument("supervisor spec %s: %s %q is not an absolute path", s.ID, name, p)
		}
	}
	if n := len(s.path(SocketFile)); n >= maxSocketPath {
		return errdefs.InvalidArgument("supervisor spec %s: socket path is %d bytes; unix sockets allow %d", s.ID, n, maxSocketPath-1)
	}
	if s.Pod != "" {
		if err := ValidID(s.Pod); err != nil {
			return fmt.Errorf("supervisor spec %s: pod: %w", s.ID, err)
		}
		if s.Restore != nil || s.Pod == s.ID {
			return errdefs.InvalidArgument("supervisor spec %s: a pod member is neither restored nor its own pod", s.ID)
		}
	}
	if s.Restore != nil && !filepath.IsAbs(s.Restore.ImagePath) {
		return errdefs.InvalidArgument("supervisor spec %s: restore image path %q is not absolute", s.ID, s.Restore.ImagePath)
	}
	if s.Timeout < 0 || s.LogMaxBytes < 0 || s.CreateTimeout < 0 {
		return errdefs.InvalidArgument("supervisor spec %s: negative timeout or log size", s.ID)
	}
	return s.Runsc.Validate()
}

func (s *Spec) path(name string) string { return filepath.Join(s.Dir, name) }

// loadSpec reads and validates a spec file.
func loadSpec(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkParent fails unless s's directory is directly in parent (nucleusd's
// <state>/supervisors, --parent); an empty parent allows any.
func (s *Spec) checkParent(parent string) error {
	if parent == "" || filepath.Dir(filepath.Clean(s.Dir)) == filepath.Clean(parent) {
		return nil
	}
	return errdefs.InvalidArgument("supervisor directory %s is not in %s (--parent)", s.Dir, parent)
}
