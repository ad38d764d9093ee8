package supervisor

import (
	"encoding/binary"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reaper lets a child subreaper reap its orphans without stealing the exit
// status of children someone else waits for. Those are registered as owned:
// the runsc commands the driver runs (through the runsc.Tracker interface,
// waited for by exec.Cmd) and the sandbox, waited for with wait4(pid). On
// SIGCHLD the reaper lists the process's children and reaps, with
// wait4(pid, WNOHANG), only the ones nobody owns: the gofer and any other
// orphan. A blanket wait4(-1) would take exec.Cmd's statuses.
type reaper struct {
	mu    sync.Mutex
	owned map[int]bool
	held  int // >0: do not reap at all (an owner is about to register)
	stop  chan struct{}
}

func newReaper() *reaper {
	r := &reaper{owned: map[int]bool{}, stop: make(chan struct{})}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ch:
				r.reapOrphans()
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

// Start implements runsc.Tracker.
func (r *reaper) Start(cmd *exec.Cmd) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	r.owned[cmd.Process.Pid] = true
	return nil
}

// Done implements runsc.Tracker.
func (r *reaper) Done(cmd *exec.Cmd) {
	r.mu.Lock()
	delete(r.owned, cmd.Process.Pid)
	r.mu.Unlock()
}

// hold stops reaping until release: between `runsc create` returning and
// the sandbox pid being owned, the sandbox is an unowned child whose status
// must not be taken.
func (r *reaper) hold() {
	r.mu.Lock()
	r.held++
	r.mu.Unlock()
}

func (r *reaper) release() {
	r.mu.Lock()
	r.held--
	r.mu.Unlock()
	r.reapOrphans()
}

// own registers pid as waited for elsewhere.
func (r *reaper) own(pid int) {
	r.mu.Lock()
	r.owned[pid] = true
	r.mu.Unlock()
}

func (r *reaper) disown(pid int) {
	r.mu.Lock()
	delete(r.owned, pid)
	r.mu.Unlock()
}

func (r *reaper) close() { close(r.stop) }

// reapOrphans reaps every exited child nobody owns. It peeks at exited
// children with waitid(WNOWAIT) and reaps the unowned ones one by one;
// only when an owned child's zombie is the one in view (its owner has not
// reaped it yet) does it fall back to listing every thread's children in
// /proc. That listing leaves /proc dentries behind which the kernel must
// invalidate when the supervisor itself is reaped: ~1 ms of nucleusd's CPU
// per container when it ran on every SIGCHLD.
func (r *reaper) reapOrphans() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held > 0 {
		return
	}
	for range maxPeeks {
		pid, ok := exitedChild()
		if !ok {
			return // no child has exited
		}
		if r.owned[pid] {
			break
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
	for _, pid := range children() {
		if r.owned[pid] {
			continue
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
}

// maxPeeks bounds the orphans reaped by peeking in one round.
const maxPeeks = 64

// exitedChild is the pid of an exited, unreaped child of this process (of
// any of its threads), without reaping it; false when there is none.
func exitedChild() (int, bool) {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	for err == unix.EINTR {
		err = unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	}
	if err != nil {
		return 0, false // ECHILD: no children at all
	}
	pid := siginfoPid(&info)
	return pid, pid > 0
}

// siginfoPid is si_pid of a SIGCHLD siginfo: on 64-bit Linux it follows
// si_signo, si_errno, si_code and 4 bytes of padding (x/sys/unix.Siginfo
// keeps the union opaque).
func siginfoPid(info *unix.Siginfo) int {
	const _ = uint(unsafe.Sizeof(uintptr(0)) - 8) // does not compile on 32-bit, where si_pid sits at 12
	raw := unsafe.Slice((*byte)(unsafe.Pointer(info)), unsafe.Sizeof(*info))
	return int(int32(binary.NativeEndian.Uint32(raw[16:20])))
}

// children lists the calling process's children, from every thread's
// /proc/self/task/<tid>/children (a reparented orphan may hang off any
// thread of a multi-threaded parent).
func children() []int {
	// ReadDir and plain paths, not filepath.Glob: this runs on every
	// SIGCHLD, and globbing was a visible share of a supervisor's CPU.
	tasks, _ := os.ReadDir("/proc/self/task")
	var pids []int
	for _, t := range tasks {
		data, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
