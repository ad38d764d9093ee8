// Package e2e drives the real nucleusd over its real unix socket, running
// the real runsc: the tests every issue's "done when" points at.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/testutil"
)

// builds holds the binaries built for this test process, one build each.
var builds sync.Map // command name → *build; "" → the directory they go to

type build struct {
	once sync.Once
	path string
	err  error
}

// binary builds ./cmd/<name> once per test process and returns its path.
func binary(t *testing.T, name string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := binDir()
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", b.path, "./cmd/"+name) // as make build
		cmd.Dir = testutil.RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", name, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// binDir is the one directory the binaries of this test process are built
// into, so that nucleusd finds nucleus-supervisor next to itself as it does
// when installed.
func binDir() (string, error) {
	v, _ := builds.LoadOrStore("", &build{})
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = os.MkdirTemp("", "nucleus-e2e-bin-") })
	return b.path, b.err
}

// Daemon is one nucleusd under test.
type Daemon struct {
	t          *testing.T
	Bin        string
	Runsc      string
	Dir        string // holds root/, state/, nucleusd.toml, nucleusd.log
	Root       string
	State      string
	Socket     string
	ConfigPath string
	cmd        *exec.Cmd
	exited     chan struct{} // closed when cmd has exited
	logFile    *os.File
	// FirstAnswer is how long the last start took until the socket
	// answered a read (before recovery finished).
	FirstAnswer time.Duration
	netns       string // DaemonOptions.Netns
}

// DaemonOptions tune StartDaemon.
type DaemonOptions struct {
	// Config is appended to the generated nucleusd.toml.
	Config string
	// Env is added to the daemon's environment.
	Env []string
	// Runsc is the config's [runsc] path; empty: the runsc under test.
	Runsc string
	// Netns, when set, is a pinned network namespace the daemon runs in
	// (nsenter --net): the network tests' daemons never see the host's
	// interfaces.
	Netns string
}

// NewDaemon prepares (but does not start) a daemon in a fresh directory.
func NewDaemon(t *testing.T, o DaemonOptions) *Daemon {
	t.Helper()
	runsc := testutil.Runsc(t)
	binary(t, "nucleus-supervisor") // found next to nucleusd
	binary(t, "nucleus-fs")         // the file helper, next to nucleusd too
	bin := binary(t, "nucleusd")
	dir, err := os.MkdirTemp("", "nucleus-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	// Searchable, as /var/lib is: a sandbox's gofer runs as its user
	// namespace's root and must reach the rootfs under root/.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{t: t, Bin: bin, Runsc: runsc, Dir: dir,
		Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		ConfigPath: filepath.Join(dir, "nucleusd.toml"), netns: o.Netns}
	d.Socket = filepath.Join(d.State, "nucleusd.sock")
	path := runsc
	if o.Runsc != "" {
		path = o.Runsc
	}
	cfg := fmt.Sprintf("version = 1\n[runsc]\npath = %q\n%s\n", path, o.Config)
	if !strings.Contains(o.Config, "[api]") {
		cfg += "[api]\nsocket_group = \"root\"\n"
	}
	if err := os.WriteFile(d.ConfigPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.cleanup)
	return d
}

// StartDaemon prepares and starts a daemon and waits until it answers.
func StartDaemon(t *testing.T, o DaemonOptions) *Daemon {
	d := NewDaemon(t, o)
	d.Start(o.Env...)
	return d
}

// startLimit is how long Start waits for a (possibly recovering) daemon.
const startLimit = 2 * time.Minute

// Start launches nucleusd and waits for its socket to answer.
func (d *Daemon) Start(env ...string) {
	d.t.Helper()
	d.StartWithin(startLimit, env...)
}

// StartWithin launches nucleusd and returns how long it took until it
// served every call (recovery finished, health SERVING); FirstAnswer says
// when it first answered a read. It fails the test when the daemon exits
// or is not serving within limit.
func (d *Daemon) StartWithin(limit time.Duration, env ...string) time.Duration {
	d.t.Helper()
	begin := d.Launch(env...)
	return d.AwaitServing(begin, limit)
}

// Launch starts nucleusd and returns at once, with the start time.
func (d *Daemon) Launch(env ...string) time.Time {
	d.t.Helper()
	f, err := os.OpenFile(filepath.Join(d.Dir, "nucleusd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	if d.logFile != nil {
		d.logFile.Close()
	}
	d.logFile = f
	begin := time.Now()
	d.cmd = exec.Command(d.Bin, "--config", d.ConfigPath, "--root", d.Root, "--state", d.State, "--log-level", "debug")
	if d.netns != "" {
		d.cmd = exec.Command("nsenter", append([]string{"--net=" + d.netns}, d.cmd.Args...)...)
	}
	d.cmd.Stdout, d.cmd.Stderr = f, f
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	exited := make(chan struct{})
	d.exited = exited
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait()
		close(exited)
	}(d.cmd)
	d.FirstAnswer = 0
	return begin
}

// AwaitServing waits until the daemon launched at begin serves every call
// and returns how long that took since begin.
func (d *Daemon) AwaitServing(begin time.Time, limit time.Duration) time.Duration {
	d.t.Helper()
	for time.Since(begin) < limit {
		if c, err := d.tryClient(); err == nil {
			serving := d.probe(c, begin)
			c.Close()
			if serving {
				return time.Since(begin)
			}
		}
		select {
		case <-d.exited:
			d.cmd = nil
			d.t.Fatalf("nucleusd exited during start; log:\n%s", tail(d.Log(), 8000))
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.t.Fatalf("nucleusd was not serving within %v; log:\n%s", limit, tail(d.Log(), 8000))
	return 0
}

// probe notes the first answered read and reports whether the daemon
// serves every call yet.
func (d *Daemon) probe(c *client.Client, begin time.Time) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Version(ctx); err != nil {
		return false
	}
	if d.FirstAnswer == 0 {
		d.FirstAnswer = time.Since(begin)
	}
	serving, err := c.Serving(ctx)
	return err == nil && serving
}

func (d *Daemon) tryClient() (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return client.New(ctx, "unix://"+d.Socket)
}

// Client returns a client connected to the daemon, closed at cleanup.
func (d *Daemon) Client() *client.Client {
	d.t.Helper()
	c, err := d.tryClient()
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close() })
	return c
}

// Kill9 kills the daemon with SIGKILL (its supervisors survive).
func (d *Daemon) Kill9() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
}

// Stop sends SIGTERM and waits for the daemon to exit.
func (d *Daemon) Stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	terminate(d.cmd.Process, d.exited, 30*time.Second)
	d.cmd = nil
}

// terminate sends p SIGTERM and waits for exited to close, SIGKILLing p
// after grace.
func terminate(p *os.Process, exited <-chan struct{}, grace time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
	}
}

// Log returns what the daemon logged.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "nucleusd.log"))
	return string(b)
}

// Ctl runs nucleusctl against the daemon and returns stdout, stderr and
// the exit code.
func (d *Daemon) CtlRun(stdin string, args ...string) (string, string, int) {
	d.t.Helper()
	cmd := exec.Command(binary(d.t, "nucleusctl"), append([]string{"--address", "unix://" + d.Socket}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("nucleusctl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// cleanup force-removes every container, stops the daemon and checks that
// nothing is left: no supervisor, no runsc state, no mount, no file.
func (d *Daemon) cleanup() {
	if d.cmd == nil {
		d.Start()
	}
	if c, err := d.tryClient(); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if list, err := c.List(ctx, nil); err == nil {
			// A pod's members first: its first container is removed only
			// once they are gone.
			sort.SliceStable(list, func(i, j int) bool { return list[i].GetSpec().GetPod() != "" && list[j].GetSpec().GetPod() == "" })
			for _, ct := range list {
				_, _ = c.Delete(ctx, ct.GetId(), true)
			}
		}
		cancel()
		c.Close()
	}
	d.Stop()
	// runsc's shared null network namespace lives in its --root; it is
	// runsc's, not a container's: release it with the test's directory.
	// Concurrent creates may stack several mounts of it.
	nullNetNS := filepath.Join(d.State, "runsc", "null-netns")
	for i := 0; i < 100 && syscall.Unmount(nullNetNS, syscall.MNT_DETACH) == nil; i++ {
	}
	_ = os.Remove(nullNetNS)
	if d.logFile != nil {
		d.logFile.Close()
	}
	if d.t.Failed() {
		d.t.Logf("nucleusd log:\n%s", tail(d.Log(), 12000))
	}
	if strings.Contains(d.Log(), "no nucleus-supervisor next to nucleusd") {
		d.t.Errorf("nucleusd did not find nucleus-supervisor next to itself; supervisors re-executed nucleusd")
	}
	leftovers := Leftovers(d.Dir)
	for _, l := range leftovers {
		d.t.Errorf("left behind: %s", l)
	}
	if len(leftovers) == 0 && !d.t.Failed() {
		_ = os.RemoveAll(d.Dir)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Leftovers lists what the running daemon's containers left behind (see
// the package function), ignoring the daemon itself and runsc's shared
// null network namespace.
func (d *Daemon) Leftovers() []string {
	var out []string
	self := ""
	if d.cmd != nil && d.cmd.Process != nil {
		self = "process " + strconv.Itoa(d.cmd.Process.Pid) + ":"
	}
	for _, l := range Leftovers(d.Dir) {
		if strings.Contains(l, "null-netns") || (self != "" && strings.HasPrefix(l, self)) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// Leftovers lists what a fully cleaned daemon dir must not hold: mounts
// under it, processes mentioning it, runsc state, container dirs.
func Leftovers(dir string) []string {
	var out []string
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(mi), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				out = append(out, "mount "+f[4])
			}
		}
	}
	var procs []string
	for pid, cmdline := range recProcessesMentioning(dir) {
		if !isSpareSupervisor(cmdline) { // a running daemon's, not a leftover
			procs = append(procs, fmt.Sprintf("process %d: %s", pid, cmdline))
		}
	}
	sort.Strings(procs)
	out = append(out, procs...)
	for _, sub := range []string{"root/containers", "state/bundles", "state/runsc", "state/supervisors", "state/secrets", "state/netns", "state/egress-netns"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			out = append(out, "file "+filepath.Join(sub, e.Name()))
		}
	}
	return out
}
