package containerdshim

import (
	"sync"
	"time"

	"github.com/containerd/containerd/api/types/task"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// stdio is where containerd wants a process's streams: FIFO paths (empty
// when not wanted) and whether the process runs on a terminal.
type stdio struct {
	stdin, stdout, stderr string
	terminal              bool
}

// exit is how a process ended, as containerd reports it.
type exit struct {
	status uint32
	at     time.Time
}

// process is one of the task's processes: the init process (the nucleusd
// container) or an exec. Its exit is set once, and done closed then.
type process struct {
	id    string // exec id; "" for the init process
	stdio stdio

	mu      sync.Mutex
	pid     uint32
	started bool
	exited  *exit
	done    chan struct{}
	// signal and resize reach a running exec (nil for the init process).
	signal chan uint32
	resize chan *nucleusv1.TerminalSize
	// spec is what Exec registered (execs only).
	spec *execSpec
	// closeStdin closes the stdin containerd gave (CloseIO).
	closeStdin func()
}

func newProcess(id string, io stdio) *process {
	return &process{id: id, stdio: io, done: make(chan struct{})}
}

// setExited records the exit once and reports whether this call did.
// announce (if not nil) runs with the process's pid before done closes,
// so that whatever a waiter does next (a Delete publishing TaskDelete)
// comes after what announce published (TaskExit).
func (p *process) setExited(e exit, announce func(pid uint32)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited != nil {
		return false
	}
	p.exited = &e
	if announce != nil {
		announce(p.pid)
	}
	close(p.done)
	return true
}

func (p *process) exitStatus() *exit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// status is containerd's view of the process.
func (p *process) status() task.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.exited != nil:
		return task.Status_STOPPED
	case p.started:
		return task.Status_RUNNING
	default:
		return task.Status_CREATED
	}
}

// exitCode is containerd's exit status for a nucleusd exit: the code
// (128+signal when killed), 255 when nucleusd lost it.
func exitCode(st *nucleusv1.ExitStatus) uint32 {
	if st == nil || st.GetExitCode() < 0 {
		return 255
	}
	return uint32(st.GetExitCode())
}
