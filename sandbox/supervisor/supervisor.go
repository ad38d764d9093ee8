package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/sandbox/containerlog"
	"nucleus.dev/nucleus/sandbox/internal/cgroup"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// supervisor is the state of one supervisor process.
type supervisor struct {
	spec    *Spec
	log     *zap.Logger
	rs      *runsc.Runsc
	creator creator // rs, or gVisor's code in this process
	reaper  *reaper
	cgroups *cgroup.MountTable // kept across the containers of a reused process

	logw    *containerlog.Writer
	copiers []*copier
	stdin   *stdinPipe
	master  *os.File // a TTY container's terminal master (console.go)

	startMu sync.Mutex // serialises start requests
	conns   connTracker

	mu         sync.Mutex // guards the fields below
	state      specs.ContainerState
	sandboxPid int
	pidfd      int // pidfd of the sandbox, -1 when none
	createdAt  time.Time
	startedAt  time.Time
	exit       *ExitStatus
	intent     intent // why the container is being ended, by whom
	sentKill   bool   // the supervisor sent SIGKILL (stop escalation, timeout)
	escalated  bool   // a stop's grace period ran out and SIGKILL followed
	memCgroup  string
	oomBefore  uint64
	timer      *time.Timer

	memberIO runsc.CreateOptions // a pod member's stdio, held until its start
	goneOnce sync.Once           // a pod member's end (memberGone)

	dead chan struct{}        // closed when the sandbox has been reaped
	ws   chan unix.WaitStatus // the sandbox's wait status, sent once
	done chan struct{}        // closed when the exit status is recorded
}

// intent records what the supervisor or a client did to end the container,
// to name the exit reason and the signal.
type intent struct {
	reason  string // ReasonKilled, ReasonTimeout, ReasonError, or ""
	signal  unix.Signal
	message string
}

// creator creates and starts the container: a runsc.Runsc (a runsc
// process per step) or a gvisor.Client (gVisor's own code, in this process).
type creator interface {
	Create(ctx context.Context, id string, o runsc.CreateOptions) error
	Start(ctx context.Context, id string) error
	// Restore restores a created container from a checkpoint image in
	// place of Start.
	Restore(ctx context.Context, id string, o runsc.RestoreOptions) error
	// StartWithStdio starts a created container in another's sandbox with
	// o's stdio (see member.go).
	StartWithStdio(ctx context.Context, id string, o runsc.CreateOptions) error
	// WaitStatus waits for a container's process in a sandbox that is not
	// this process's child.
	WaitStatus(ctx context.Context, id string) (unix.WaitStatus, error)
}

// newSupervisor prepares the supervisor of spec. It creates and starts the
// container through gVisor's packages linked into this program when runsc
// was built from the same gVisor version, else through runsc processes.
func newSupervisor(spec *Spec, log *zap.Logger, cgroups *cgroup.MountTable) *supervisor {
	r := newReaper()
	rs := spec.Runsc
	rs.Tracker = r
	c := inProcessCreator(&rs, log)
	return &supervisor{
		spec: spec, log: log, rs: &rs, creator: c, reaper: r, cgroups: cgroups,
		state: "creating", pidfd: -1, conns: connTracker{conns: map[net.Conn]struct{}{}},
		dead: make(chan struct{}), ws: make(chan unix.WaitStatus, 1), done: make(chan struct{}),
	}
}

// run is the supervisor's life: create, report ready, (start), wait,
// record the exit, clean up. It returns the process exit code.
func (s *supervisor) run(ready *readyReporter) int {
	defer s.reaper.close()
	// The supervisor ends only after its container: signals that would end
	// it earlier (and lose the exit status) are ignored. SIGKILL still works.
	signal.Ignore(unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGPIPE)
	lock, err := lockDir(s.spec.Dir)
	if err != nil { // deleted before it started, or a second supervisor
		ready.fail(err)
		return 1
	}
	defer lock.Close() // held until the process ends
	if err := writeFileAtomic(s.spec.path(PidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		ready.fail(err)
		return 1
	}
	s.createdAt = time.Now()
	if err := s.create(); err != nil {
		s.log.Error("create failed", zap.Error(err))
		s.recordFailure(err)
		ready.fail(err)
		s.removeControlFiles()
		return 1
	}
	ln, err := s.listen()
	if err != nil {
		s.log.Error("listen", zap.Error(err))
		s.end(intent{reason: ReasonError, message: "supervisor socket: " + err.Error()})
		ready.fail(err)
	} else {
		go s.serve(ln)
		if s.spec.Start {
			if err := s.start(context.Background()); err != nil {
				ready.fail(err)
			}
		}
		ready.ok(s.status())
	}
	s.finish(<-s.ws)
	if ln != nil {
		s.closeServer(ln)
	}
	s.removeControlFiles()
	s.log.Info("supervision over")
	return 0
}

// create runs runsc create with the container's stdio on pipes the
// supervisor holds, then starts waiting for the sandbox.
func (s *supervisor) create() error {
	w, err := containerlog.NewWriter(s.spec.LogPath, containerlog.Options{MaxBytes: s.spec.LogMaxBytes, MinFreeBytes: s.spec.LogMinFreeBytes})
	if err != nil {
		return fmt.Errorf("opening container log: %w", err)
	}
	s.logw = w
	if s.spec.Terminal {
		return s.createWith(runsc.CreateOptions{ConsoleSocket: s.spec.path(ConsoleFile)})
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	s.copiers = []*copier{
		startCopier("stdout", outR, w.Stdout(), s.log),
		startCopier("stderr", errR, w.Stderr(), s.log),
	}
	var stdinR *os.File
	if s.spec.OpenStdin {
		if s.stdin, stdinR, err = newStdinPipe(); err != nil {
			return err
		}
	}
	o := runsc.CreateOptions{Stdin: stdinR, Stdout: outW, Stderr: errW}
	if s.member() && !s.spec.Start {
		err = s.holdMemberStdio(o) // gVisor hands a member its stdio at start
	}
	if err == nil {
		if err = s.createWith(o); err != nil {
			s.releaseMemberStdio()
		}
	}
	outW.Close()
	errW.Close()
	if stdinR != nil {
		stdinR.Close()
	}
	return err
}

// createWith runs runsc create with o's stdio (or console socket), then
// starts waiting for the sandbox.
func (s *supervisor) createWith(o runsc.CreateOptions) error {
	timeout := s.spec.CreateTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pidPath := s.spec.path(SandboxPid)
	_ = os.Remove(pidPath)
	var console *consoleReceiver
	if o.ConsoleSocket != "" {
		var err error
		if console, err = s.listenConsole(); err != nil {
			return err
		}
	}

	s.reaper.hold()
	start := time.Now()
	o.Bundle, o.PidFile = s.spec.Bundle, pidPath
	o.Start = s.spec.Start && s.spec.Restore == nil // a restore replaces the start
	err := s.creator.Create(ctx, s.spec.ID, o)
	var pid int
	if err == nil {
		pid, err = readPid(pidPath)
	}
	if err == nil && console != nil {
		var master *os.File
		if master, err = console.wait(o.ConsoleSocket, 5*time.Second); err == nil {
			err = s.startTerminal(master)
		}
	} else if console != nil {
		console.close(o.ConsoleSocket)
	}
	if err != nil {
		s.reaper.release()
		// Leave nothing half-created behind: runsc delete --force kills a
		// sandbox create may have started.
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		if derr := s.rs.Delete(dctx, s.spec.ID, true); derr != nil {
			s.log.Warn("cleanup after failed create", zap.Error(derr))
		}
		dcancel()
		return err
	}
	pidfd := -1
	if !s.member() { // a member's sandbox is its pod's: never reaped or killed here
		s.reaper.own(pid)
		var perr error
		if pidfd, perr = unix.PidfdOpen(pid, 0); perr != nil {
			pidfd = -1
			s.log.Warn("pidfd_open of the sandbox", zap.Int("sandbox_pid", pid), zap.Error(perr))
		}
	}
	s.reaper.release()
	s.mu.Lock()
	s.state, s.sandboxPid, s.pidfd = specs.StateCreated, pid, pidfd
	if s.spec.Start && s.spec.Restore == nil { // runsc run --detach started it too
		s.state, s.startedAt = specs.StateRunning, start
		if s.spec.Timeout > 0 {
			s.timer = time.AfterFunc(s.spec.Timeout-time.Since(start), s.onTimeout)
		}
	}
	if dir, err := s.memoryCgroup(pid); err == nil {
		s.memCgroup = dir
		s.oomBefore, _ = cgroup.OOMKills(dir)
	}
	s.mu.Unlock()
	s.log.Info("created", zap.Int("sandbox_pid", pid), zap.Duration("took", time.Since(start)), zap.String("memory_cgroup", s.memCgroup), zap.String("pod", s.spec.Pod))
	switch {
	case !s.member():
		go s.waitSandbox(pid)
	case o.Start:
		go s.waitMember(pid)
	default:
		go s.watchPodWhileCreated(pid)
	}
	return nil
}

func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading sandbox pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("sandbox pid file %s holds %q", path, data)
	}
	return pid, nil
}

// waitSandbox reaps the sandbox: it is our child (subreaper), so wait4
// returns its real status however it died.
func (s *supervisor) waitSandbox(pid int) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// Not our child (should not happen): wait for it to vanish;
			// its status is unknowable.
			s.log.Error("wait4 on the sandbox", zap.Int("sandbox_pid", pid), zap.Error(err))
			for unix.Kill(pid, 0) == nil {
				time.Sleep(100 * time.Millisecond)
			}
			ws = unix.WaitStatus(0xffff)
		}
		break
	}
	s.mu.Lock()
	if s.pidfd >= 0 {
		unix.Close(s.pidfd)
		s.pidfd = -1
	}
	s.mu.Unlock()
	s.reaper.disown(pid)
	close(s.dead)
	s.ws <- ws
}

// start runs runsc start, once.
func (s *supervisor) start(ctx context.Context) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch state {
	case specs.StateRunning:
		return nil
	case specs.StateCreated:
	default:
		return failedPrecondition("container %s is %s, not created", s.spec.ID, state)
	}
	startedAt := time.Now()
	s.mu.Lock()
	s.startedAt = startedAt
	s.mu.Unlock()
	if err := s.startOrRestore(ctx); err != nil {
		s.log.Error("start failed", zap.Error(err))
		s.end(intent{reason: ReasonError, message: "start: " + err.Error()})
		return err
	}
	s.mu.Lock()
	if s.state == specs.StateCreated {
		s.state = specs.StateRunning
	}
	if s.spec.Timeout > 0 {
		s.timer = time.AfterFunc(s.spec.Timeout-time.Since(startedAt), s.onTimeout)
	}
	s.mu.Unlock()
	s.log.Info("started", zap.Duration("took", time.Since(startedAt)))
	return nil
}

// startOrRestore starts the created container, or restores it from its
// checkpoint image in restore mode (runsc restore takes the place of start).
func (s *supervisor) startOrRestore(ctx context.Context) error {
	if r := s.spec.Restore; r != nil {
		return s.creator.Restore(ctx, s.spec.ID, *r)
	}
	if s.member() {
		if err := s.startMember(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		pid := s.sandboxPid
		s.mu.Unlock()
		go s.waitMember(pid)
		return nil
	}
	return s.creator.Start(ctx, s.spec.ID)
}

func (s *supervisor) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		ID: s.spec.ID, State: s.state, SandboxPid: s.sandboxPid, SupervisorPid: os.Getpid(),
		CreatedAt: s.createdAt, StartedAt: s.startedAt, Exit: s.exit,
	}
	if s.exit != nil {
		st.SandboxPid = 0
	}
	return st
}

// removeControlFiles removes the socket and, last, the pid file: from then
// on the daemon reads exit.json.
func (s *supervisor) removeControlFiles() {
	_ = os.Remove(s.spec.path(SocketFile))
	_ = os.Remove(s.spec.path(SandboxPid))
	_ = os.Remove(s.spec.path(PidFile))
}

// memoryCgroup is the host directory of pid's memory cgroup.
func (s *supervisor) memoryCgroup(pid int) (string, error) {
	mounts, err := s.cgroups.Get()
	if err != nil {
		return "", err
	}
	return mounts.Dir(pid, "memory")
}
