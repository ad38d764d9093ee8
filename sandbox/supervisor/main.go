package supervisor

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/cpuprofile"
	"nucleus.dev/nucleus/sandbox/gvisor"
	"nucleus.dev/nucleus/sandbox/internal/cgroup"
)

// Main runs a supervisor and returns its exit code; nucleusd calls it for
// its hidden "supervise" mode, before anything else:
//
//	if len(os.Args) > 1 && os.Args[1] == "supervise" {
//		os.Exit(supervisor.Main(os.Args[2:]))
//	}
//
// args are "[--parent <dir>] [--reuse N] --spec-fd 4 --ready-fd 3" as Spawn
// passes them: the spec's path ("<dir>/spec.json") arrives as one line on
// the spec fd, so that the process can be started before it is needed (EOF
// instead: it exits 0); with --parent the spec's directory must be directly
// in that one; with --reuse the process may supervise up to N containers,
// one after the other (reuse.go). "--spec <path>" names the spec directly.
// Its stdio is /dev/null; it reports readiness on the ready fd and logs to
// <dir>/supervisor.log.
func Main(args []string) int {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	specPath := fs.String(specFlag[2:], "", "path of the supervisor spec (JSON)")
	specFD := fs.Int(specFDFlag[2:], -1, "fd to read the spec's path from (one line), instead of --spec")
	parent := fs.String(parentFlag[2:], "", "directory the spec's directory must be in")
	readyFD := fs.Int(readyFDFlag[2:], -1, "fd to report readiness on; -1 for none")
	reuse := fs.Int(reuseFlag[2:], 1, "containers this process may supervise one after another (with --spec-fd)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// One P unless GOMAXPROCS says otherwise: a supervisor waits, copies
	// output and runs gVisor's create, one thing at a time; a second P
	// only added threads spinning for work at each wake-up (measured: 15.0
	// -> 12.3 ms of CPU per cold run, a sixth of the supervisor's). The
	// spawner sets GOMAXPROCS=1 in the environment, which holds from the
	// runtime's start (supervisorEnv); this covers other launchers.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if stop, err := cpuprofile.Start("supervisor"); err == nil {
		defer stop() // Main returns before the process exits
	}
	if *specFD >= 0 && *specPath == "" {
		return serveSpecs(*specFD, *readyFD, *parent, *reuse)
	}
	return superviseOne(*specPath, *parent, newReadyReporter(*readyFD, false), 1, &cgroup.MountTable{})
}

// superviseOne supervises the container of the spec at specPath, the
// process's number-th, from its create to its recorded exit, and returns
// the process exit code (0: the container's life was supervised to its
// end). cgroups is the process's cgroup mount table, read once for all the
// containers it supervises.
func superviseOne(specPath, parent string, ready *readyReporter, number int, cgroups *cgroup.MountTable) int {
	spec, err := loadSpec(specPath)
	if err == nil {
		err = spec.checkParent(parent)
	}
	if err != nil {
		ready.fail(err)
		fmt.Fprintf(os.Stderr, "supervisor: %v\n", err)
		return 2
	}
	// Its directory is its working directory: Running recognises it by that
	// (a spare's command line does not name its spec; the runsc commands it
	// starts run in /).
	if err := os.Chdir(spec.Dir); err != nil {
		ready.fail(err)
		return 2
	}
	log, closeLog := newLogger(spec.path(LogFile))
	defer closeLog()
	log = log.With(zap.String("container", spec.ID), zap.Int("pid", os.Getpid()))
	// Child subreaper: the sandbox that runsc create leaves behind becomes
	// our child, so we reap it and learn its exit status, whoever kills it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		log.Error("PR_SET_CHILD_SUBREAPER", zap.Error(err))
		ready.fail(err)
		return 1
	}
	// gVisor's own log lines (create and start run its code here) are
	// kept when runsc debugging is on, as runsc keeps them only then.
	if spec.Runsc.DebugLogDir != "" {
		gvisor.LogTo(log)
	} else {
		gvisor.LogTo(zap.NewNop())
	}
	if number > 1 {
		log.Info("supervising in a reused process", zap.Int("container_number", number))
	}
	s := newSupervisor(spec, log, cgroups)
	return s.run(ready)
}

// newLogger logs JSON to path; it falls back to a no-op logger when the
// file cannot be opened (stderr is /dev/null anyway).
func newLogger(path string) (*zap.Logger, func()) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return zap.NewNop(), func() {}
	}
	// The Go runtime writes a panic or a fatal error to fd 2: pointed at
	// the log, a supervisor that dies leaves its reason there (the daemon
	// quotes the log's tail when it finds a supervisor gone without an
	// exit status) instead of in /dev/null.
	_ = unix.Dup3(int(f.Fd()), 2, 0)
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(f), zap.DebugLevel)
	log := zap.New(core)
	return log, func() { _ = log.Sync(); _ = f.Close() }
}

// readyReporter writes the readiness message Spawn waits for: one per
// container. A reusable supervisor keeps the fd open for the next one and
// says there when it is free again (reuse.go).
type readyReporter struct {
	f    *os.File
	keep bool // the fd stays open after a container's message
	sent bool // this container's message is written
}

func newReadyReporter(fd int, keep bool) *readyReporter {
	if fd < 0 {
		return &readyReporter{}
	}
	unix.CloseOnExec(fd)
	return &readyReporter{f: os.NewFile(uintptr(fd), "ready-fd-"+strconv.Itoa(fd)), keep: keep}
}

func (r *readyReporter) send(resp Response) {
	if r.f == nil || r.sent {
		return
	}
	r.sent = true
	if err := writeJSONLine(r.f, resp); err != nil || !r.keep {
		_ = r.f.Close()
		r.f = nil
	}
}

func (r *readyReporter) ok(st Status) { r.send(Response{OK: true, Status: &st}) }

func (r *readyReporter) fail(err error) {
	r.send(Response{Error: err.Error(), Kind: kindName(err)})
}
