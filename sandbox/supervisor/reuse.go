package supervisor

// Reuse. A supervisor started ahead of need with --reuse N supervises up to
// N containers, one after the other: once a container's exit is recorded
// and its sandbox, gofer and every other child are gone, the process tells
// the spawner it is free (an "idle" line on the ready fd) and waits for the
// next spec path on the spec fd. The next container then costs no process
// start (the Go runtime's and gVisor's package initialisation, a few ms of
// CPU) and no process exit (unmapping the previous one's heap, as much
// again): together a third of a supervisor's CPU per container.
//
// A process is reused only when it is back where its first container left
// it: no child, no more goroutines, no more open files, every thread in /
// and in the namespaces the process started in (gVisor's create joins a
// container's on a locked thread, and may park one for good). Anything
// else, or a container that did not end cleanly, and it exits as a
// single-use supervisor does. The daemon's death closes the spec pipe: an idle
// supervisor exits at once, a busy one after its container.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/sandbox/gvisor"
	"nucleus.dev/nucleus/sandbox/internal/cgroup"
)

// settleTimeout bounds the wait, after a container, for its children (the
// gofer exits tens of ms after its sandbox) and goroutines to be gone.
const settleTimeout = 2 * time.Second

// serveSpecs is Main in spec-fd mode: it supervises the container of each
// spec path read from specFD, up to maxLives of them.
func serveSpecs(specFD, readyFD int, parent string, maxLives int) int {
	// What every create builds once per process is built while the
	// process waits for its first container, off the create's path.
	warmed := make(chan struct{})
	go func() {
		defer close(warmed)
		gvisor.Warm()
	}()
	specs := newSpecReader(specFD)
	ready := newReadyReporter(readyFD, maxLives > 1)
	initialNS := namespaces("/proc/thread-self")
	cgroups := &cgroup.MountTable{}
	var first *processState
	for lives := 1; ; lives++ {
		path, ok := specs.next()
		if !ok {
			return 0 // no (further) container for this process
		}
		code := superviseOne(path, parent, ready, lives, cgroups)
		if code != 0 || lives >= maxLives {
			return code
		}
		<-warmed
		st, err := settle(first, initialNS)
		if err != nil {
			noteNotReused(path, err)
			return code
		}
		if first == nil {
			first = &st
		}
		if !ready.idle() {
			return code // the spawner is gone
		}
	}
}

// specReader reads spec paths, one per line, from the spec fd.
type specReader struct {
	f  *os.File
	br *bufio.Reader
}

func newSpecReader(fd int) *specReader {
	unix.CloseOnExec(fd) // the sandbox and gofer must not inherit it
	f := os.NewFile(uintptr(fd), "spec-fd")
	return &specReader{f: f, br: bufio.NewReaderSize(f, unix.PathMax+1)}
}

// next returns the next spec path; false on EOF (the spawner closed the
// pipe: no container for this process) or a line that is not an absolute
// path of at most PATH_MAX bytes.
func (r *specReader) next() (string, bool) {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		_ = r.f.Close()
		return "", false
	}
	path := strings.TrimSuffix(string(line), "\n")
	return path, filepath.IsAbs(path)
}

// idle tells the spawner this process is free for another container (the
// next container's report may follow); false when it cannot (the spawner
// is gone).
func (r *readyReporter) idle() bool {
	if r.f == nil {
		return false
	}
	if err := writeJSONLine(r.f, Response{OK: true, Idle: true}); err != nil {
		_ = r.f.Close()
		r.f = nil
		return false
	}
	r.sent = false
	return true
}

// processState is what a reused supervisor must come back to after each
// container.
type processState struct {
	goroutines int
	fds        int // open files but pidfds
	pidfds     int // pidfds of reaped children that the GC has not finalized yet
}

// pidfdsBeforeGC is how many pidfds of reaped children a free supervisor
// leaves to Go's next natural collection; past it, settle collects at once.
// Two per container (sandbox and gofer): a collection every eight or so
// containers instead of after each (a tenth of a reused supervisor's CPU),
// and the pidfds stay bounded however little the process allocates.
const pidfdsBeforeGC = 16

// pollsBeforeGC is how many times settle finds more files or goroutines
// than after the first container before it collects once: gVisor leaves
// some files to finalizers (a pod member's connections to its pod's
// sandbox), which only a collection runs; waiting for Go's next natural
// one cost a member's supervisor its reuse. A container whose last
// goroutines end on their own (the output copiers draining) is back
// within the first polls, without a collection.
const pollsBeforeGC = 2

// settle returns the process to its idle state after a container - working
// directory /, standard error /dev/null, every child reaped - and checks
// that nothing of the container is left: every thread in / and in the
// namespaces the process started in (initialNS); with first nil it only
// records what there is, otherwise goroutines and open files must be back
// at first's counts.
func settle(first *processState, initialNS map[string]string) (processState, error) {
	if err := os.Chdir("/"); err != nil {
		return processState{}, err
	}
	// fd 2 pointed at the container's supervisor.log (the Go runtime's
	// crash output).
	if err := redirectStderr(os.DevNull); err != nil {
		return processState{}, err
	}
	deadline := time.Now().Add(settleTimeout)
	if err := reapAll(deadline); err != nil {
		return processState{}, err
	}
	if err := threadsAlike("/proc/self/task", initialNS); err != nil {
		return processState{}, err
	}
	return awaitBaseline(first, deadline, currentState, runtime.GC)
}

// awaitBaseline probes the process's state until its goroutines and open
// files are back at first's counts (with first nil, at once), or fails at
// deadline. It collects garbage once (collect), since finalizers close
// what was left to them only after a collection: when more than
// pidfdsBeforeGC pidfds are held, or when the counts are still above
// first's at the pollsBeforeGC-th probe.
func awaitBaseline(first *processState, deadline time.Time, probe func() (processState, error), collect func()) (processState, error) {
	pause := time.Millisecond
	for collected, polls := false, 0; ; polls++ {
		st, err := probe()
		if err != nil {
			return processState{}, err
		}
		back := first == nil || (st.goroutines <= first.goroutines && st.fds <= first.fds)
		if !collected && (st.pidfds > pidfdsBeforeGC || (!back && polls == pollsBeforeGC)) {
			collect()
			collected = true
		}
		if back {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("%d goroutines and %d open files after the container, %d and %d after the first",
				st.goroutines, st.fds, first.goroutines, first.fds)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

func redirectStderr(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Dup3(int(f.Fd()), 2, 0)
}

// reapAll reaps exited children until there are none, or fails at
// deadline. Nobody else waits for them any more: the container's life is
// over.
func reapAll(deadline time.Time) error {
	pause := time.Millisecond
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.ECHILD):
			return nil
		case errors.Is(err, unix.EINTR), err == nil && pid > 0:
			continue
		case err != nil:
			return fmt.Errorf("reaping children: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("children still running %v after the container", settleTimeout)
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// namespaces reads the namespaces of the thread (or process) at dir, a
// /proc path; kinds the kernel lacks are left out. Every thread of a free
// supervisor must be back in the ones it started in: gVisor's create joins
// a container's (network, for one) on a locked thread and restores it, or
// parks the thread for good when it cannot.
func namespaces(dir string) map[string]string {
	fd, err := openPath(dir)
	if err != nil {
		return map[string]string{}
	}
	defer unix.Close(fd)
	return namespacesAt(fd)
}

// namespacesAt is namespaces of the /proc directory open at fd. Each link
// is read relative to fd: a path from / walked /proc, the pid and the task
// again for every one of the thread's nine links, the most of a reused
// supervisor's check between two containers.
func namespacesAt(fd int) map[string]string {
	kinds := [...]string{"cgroup", "ipc", "mnt", "net", "pid_for_children", "time_for_children", "user", "uts"}
	ns := make(map[string]string, len(kinds))
	for _, k := range kinds {
		if l, err := readlinkAt(fd, "ns/"+k); err == nil {
			ns[k] = l
		}
	}
	return ns
}

// openPath opens the directory at path for *at calls only.
func openPath(path string) (int, error) {
	return unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// readlinkAt reads the symbolic link at name relative to the directory fd.
func readlinkAt(fd int, name string) (string, error) {
	buf := make([]byte, 128)
	for {
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// threadsAlike checks that every thread of the process whose task list is
// taskDir (/proc/self/task) works in / and is in the namespaces initial.
func threadsAlike(taskDir string, initial map[string]string) error {
	tasks, err := os.ReadDir(taskDir)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		fd, err := openPath(taskDir + "/" + t.Name())
		if err != nil {
			continue // the thread has exited
		}
		err = threadAlike(fd, t.Name(), initial)
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// threadAlike checks the thread whose /proc directory is open at fd.
func threadAlike(fd int, tid string, initial map[string]string) error {
	cwd, err := readlinkAt(fd, "cwd")
	if err != nil {
		return nil // the thread has exited
	}
	if cwd != "/" {
		return fmt.Errorf("thread %s works in %s", tid, cwd)
	}
	for k, v := range namespacesAt(fd) {
		if want, ok := initial[k]; ok && v != want {
			return fmt.Errorf("thread %s is in %s namespace %s, the process started in %s", tid, k, v, want)
		}
	}
	return nil
}

// currentState counts the goroutines and the open files but pidfds.
// gVisor starts the sandbox and gofer with os/exec and never waits for
// them through it (the supervisor reaps the sandbox itself): their
// os.Process handles hold pidfds of reaped processes until the garbage
// collector finalizes them, at its next natural cycle. Forcing one after
// every container cost a tenth of a reused supervisor's CPU per run.
func currentState() (processState, error) {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return processState{}, err
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return processState{}, err
	}
	st := processState{goroutines: runtime.NumGoroutine()}
	for _, name := range names {
		if target, err := os.Readlink("/proc/self/fd/" + name); err == nil && target == "anon_inode:[pidfd]" {
			st.pidfds++
			continue
		}
		st.fds++ // the directory's own fd included, as on every call
	}
	return st, nil
}

// noteNotReused appends why this process will not supervise another
// container to the supervisor log of the last one, best effort.
func noteNotReused(specPath string, why error) {
	f, err := os.OpenFile(filepath.Join(filepath.Dir(specPath), LogFile), os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer f.Close()
	_ = writeJSONLine(f, map[string]any{"level": "info", "ts": time.Now().Format(time.RFC3339Nano),
		"msg": "supervisor not reused: exiting", "pid": os.Getpid(), "error": why.Error()})
}
