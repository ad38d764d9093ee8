package store

import (
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// Container is the durable record of one container. Every field is
// persisted unless tagged `store:"-"` (in-memory only); a reflection test
// fails when a field is neither.
type Container struct {
	// ID is 32 lowercase hex characters; also the default runsc id.
	ID string
	// Name is unique among records; never shaped like an ID.
	Name string
	// OwnerUID is the creating caller's uid (SO_PEERCRED), or for an mTLS
	// caller the owner its certificate identity was given (CertOwner).
	OwnerUID uint32
	// State is the lifecycle state.
	State nucleusv1.ContainerState
	// Spec is the request as accepted. Secret data is stripped on write.
	Spec *nucleusv1.ContainerSpec
	// HookSet is the hook set in effect.
	HookSet string
	// CreatedAt, StartedAt and FinishedAt are zero until they happen.
	CreatedAt, StartedAt, FinishedAt time.Time
	// Exit is set once the container has exited (or failed).
	Exit *Exit
	// Labels are the spec's labels, kept for filtering.
	Labels map[string]string
	// BundleDir is the OCI bundle directory.
	BundleDir string
	// RunscID is the id given to runsc.
	RunscID string
	// RunscVersion is the runsc that created the sandbox.
	RunscVersion string
	// Pid is the sandbox's host pid; 0 when not running.
	Pid int
	// CreateStep marks how far a create got, for recovery after a crash.
	CreateStep CreateStep
	// AutoRemove deletes the container when it exits.
	AutoRemove bool
	// Timeout is the maximum runtime after start; 0 = none.
	Timeout time.Duration
	// Warnings are non-fatal problems (e.g. a failed poststart hook).
	Warnings []string
	// PoststopDone is set once the poststop hooks ran, so that they run
	// exactly once, also across daemon restarts.
	PoststopDone bool
	// RestoredFrom is the snapshot the container was restored from.
	RestoredFrom string
	// IPAddress is the container's address on the egress network's
	// bridge; empty for other network modes.
	IPAddress string
}

// Exit is how a container's process ended.
type Exit struct {
	Code      int32
	Signal    int32
	OOMKilled bool
	// Reason is "exited", "killed", "timeout", "oom" or "error".
	Reason  string
	Message string
}

// CreateStep marks progress through a create, so recovery knows what to
// undo: each step is recorded before the next begins.
type CreateStep string

// The create steps, in order.
const (
	StepReserved     CreateStep = "reserved"      // id and name reserved; nothing on disk
	StepBundle       CreateStep = "bundle"        // bundle directory written
	StepNetwork      CreateStep = "network"       // egress network attached
	StepRunscCreated CreateStep = "runsc-created" // `runsc create` succeeded
	StepHooksDone    CreateStep = "hooks-done"    // createRuntime hooks ran
	StepComplete     CreateStep = "complete"      // the container is CREATED
)
