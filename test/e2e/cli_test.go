package e2e

// The CLI's "done when" (issue #6): the built nucleusctl against a real
// nucleusd, every command and flag, exit codes, stdin forwarding, logs -f,
// JSON output parsed here, completion scripts and the README's tour.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/testutil"
)

// cliOpts tune one nucleusctl (or shell) invocation.
type cliOpts struct {
	env []string // added to the environment
	// noAddress leaves out --address (NUCLEUS_ADDRESS or the default apply).
	noAddress bool
}

// cliCommand builds a nucleusctl command against d (nil: no daemon).
func cliCommand(t *testing.T, d *Daemon, o cliOpts, args ...string) *exec.Cmd {
	t.Helper()
	if d != nil && !o.noAddress {
		args = append([]string{"--address", "unix://" + d.Socket}, args...)
	}
	cmd := exec.Command(binary(t, "nucleusctl"), args...)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// cliRun runs cmd to its end and returns stdout, stderr and the exit code.
func cliRun(t *testing.T, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return out.String(), errb.String(), code
}

// ctlOK runs nucleusctl args, requires exit 0 and returns stdout.
func ctlOK(t *testing.T, d *Daemon, stdin string, args ...string) string {
	t.Helper()
	out, errb, code := d.CtlRun(stdin, args...)
	if code != 0 {
		t.Fatalf("nucleusctl %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errb)
	}
	return out
}

// ctlFails runs nucleusctl args and requires exit code want and one error line
// on stderr containing sub.
func ctlFails(t *testing.T, d *Daemon, want int, sub string, args ...string) {
	t.Helper()
	out, errb, code := d.CtlRun("", args...)
	if code != want {
		t.Errorf("nucleusctl %s: exit %d, want %d (stdout %q, stderr %q)", strings.Join(args, " "), code, want, out, errb)
	}
	cliOneErrorLine(t, strings.Join(args, " "), errb, sub)
}

// cliOneErrorLine requires stderr to be exactly one "nucleusctl: " line
// containing sub: no usage text, no Go dump.
func cliOneErrorLine(t *testing.T, what, stderr, sub string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "nucleusctl: ") || !strings.HasSuffix(stderr, "\n") ||
		!strings.Contains(lines[0], sub) || strings.Contains(stderr, "goroutine ") {
		t.Errorf("%s: stderr %q, want one line \"nucleusctl: ...%s...\"", what, stderr, sub)
	}
}

// cliBackground is a nucleusctl (or shell) process left running.
type cliBackground struct {
	cmd       *exec.Cmd
	mu        sync.Mutex
	out, errb bytes.Buffer
	done      chan struct{}
	code      int
}

type cliLockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w cliLockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// cliStart starts cmd in its own process group, killed at cleanup (before
// the daemon's cleanup, which counts processes naming its directory).
func cliStart(t *testing.T, cmd *exec.Cmd) *cliBackground {
	t.Helper()
	b := &cliBackground{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = cliLockedWriter{&b.mu, &b.out}
	cmd.Stderr = cliLockedWriter{&b.mu, &b.errb}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait() // the exit code says it
		b.mu.Lock()
		b.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			b.code = 128 + int(ws.Signal())
		}
		b.mu.Unlock()
		close(b.done)
	}()
	t.Cleanup(func() { b.signal(syscall.SIGKILL); <-b.done })
	return b
}

func (b *cliBackground) signal(sig syscall.Signal) {
	select {
	case <-b.done:
	default:
		_ = syscall.Kill(-b.cmd.Process.Pid, sig)
	}
}

func (b *cliBackground) output() (string, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String(), b.errb.String()
}

// waitStdout waits until stdout satisfies want.
func (b *cliBackground) waitStdout(t *testing.T, timeout time.Duration, want func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, errb := b.output()
		if want(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: after %v stdout %q, stderr %q", b.cmd.Args, timeout, out, errb)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitBlocked waits until a nucleusctl in b's process group holds a socket
// and all its threads have slept for a few polls in a row: it has sent its
// request and waits on the stream (a following command that prints nothing
// yet gives nothing else to wait for).
func (b *cliBackground) waitBlocked(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for asleep := 0; asleep < 5; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v: no nucleusctl waiting on a stream after %v", b.cmd.Args, timeout)
		}
		if cliBlockedInGroup(b.cmd.Process.Pid) {
			asleep++
		} else {
			asleep = 0
		}
	}
}

// cliBlockedInGroup reports whether a nucleusctl of process group pgid has
// a socket open and every thread sleeping.
func cliBlockedInGroup(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil || !bytes.Contains(b, []byte("(nucleusctl)")) {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		dir := filepath.Dir(st)
		fds, _ := os.ReadDir(filepath.Join(dir, "fd"))
		socket := false
		for _, fd := range fds {
			l, _ := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			socket = socket || strings.HasPrefix(l, "socket:")
		}
		tasks, _ := filepath.Glob(filepath.Join(dir, "task", "*", "stat"))
		asleep := len(tasks) > 0
		for _, task := range tasks {
			tb, err := os.ReadFile(task)
			if err != nil {
				asleep = false
				break
			}
			tf := strings.Fields(string(tb[bytes.LastIndexByte(tb, ')')+1:]))
			asleep = asleep && len(tf) > 0 && tf[0] == "S"
		}
		return socket && asleep
	}
	return false
}

// wait waits for the process to exit on its own and returns its exit code.
func (b *cliBackground) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-b.done:
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.code
	case <-time.After(timeout):
		out, errb := b.output()
		t.Fatalf("%v still running after %v: stdout %q, stderr %q", b.cmd.Args, timeout, out, errb)
		return -1
	}
}

// cliContainers parses a JSON array of Container messages.
func cliContainers(t *testing.T, out string) []*nucleusv1.Container {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(out), &raws); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	var ctrs []*nucleusv1.Container
	for _, r := range raws {
		c := &nucleusv1.Container{}
		if err := protojson.Unmarshal(r, c); err != nil {
			t.Fatalf("not a Container: %v\n%s", err, r)
		}
		ctrs = append(ctrs, c)
	}
	return ctrs
}

// cliInspect runs nucleusctl inspect id and returns the container.
func cliInspect(t *testing.T, d *Daemon, id string) *nucleusv1.Container {
	t.Helper()
	ctrs := cliContainers(t, ctlOK(t, d, "", "inspect", id))
	if len(ctrs) != 1 {
		t.Fatalf("inspect %s: %d containers", id, len(ctrs))
	}
	return ctrs[0]
}

// cliDecodeLines parses NDJSON, one message per line, made by newM.
func cliDecodeLines[M proto.Message](t *testing.T, out string, newM func() M) []M {
	t.Helper()
	var msgs []M
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		m := newM()
		if err := protojson.Unmarshal([]byte(line), m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// cliWaitGone polls ps -a until no container has this name or id.
func cliWaitGone(t *testing.T, d *Daemon, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		found := false
		for _, c := range cliContainers(t, ctlOK(t, d, "", "ps", "-a", "-o", "json")) {
			found = found || c.GetName() == name || c.GetId() == name
		}
		if !found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("container %s still listed by ps -a", name)
}

var cliIDLine = regexp.MustCompile(`^[0-9a-f]{32}\n$`)

// cliBusyboxRootfs makes dir/rootfs: /bin/busybox (Debian's busybox-static)
// with sh, cat, echo and ls; "" when the host has no busybox (a failure
// under CI).
func cliBusyboxRootfs(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile("/bin/busybox")
	if err != nil {
		if testutil.InCI() {
			t.Fatalf("no /bin/busybox for a --rootfs (install busybox-static): %v", err)
		}
		t.Logf("--rootfs not tested: no /bin/busybox (install busybox-static): %v", err)
		return ""
	}
	root := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sh", "cat", "echo", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", n)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// cliTempDir makes a 0755 directory under /tmp, removed at cleanup (after
// the daemon's, when made before StartDaemon).
func cliTempDir(t *testing.T, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// cliTourLine is one command line of the README's tour.
type cliTourLine struct {
	cmd  string
	want string // stdout the comment promises ("# 7"), if any
}

// cliTourEnv is the environment README lines run in: nucleusctl on PATH,
// NUCLEUS_ADDRESS naming d.
func cliTourEnv(t *testing.T, d *Daemon) []string {
	return append(os.Environ(), "PATH="+filepath.Dir(binary(t, "nucleusctl"))+":"+os.Getenv("PATH"),
		"NUCLEUS_ADDRESS=unix://"+d.Socket)
}

// cliReadmeTour returns the lines of the README's "A short tour" sh block.
func cliReadmeTour(t *testing.T) []cliTourLine {
	t.Helper()
	lines := cliReadmeBlock(t, "## A short tour")
	if len(lines) < 10 {
		t.Fatalf("README tour: only %d lines: %q", len(lines), lines)
	}
	return lines
}

// cliReadmeBlock returns the lines of the first sh block of the README
// after the text marker.
func cliReadmeBlock(t *testing.T, marker string) []cliTourLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, found := strings.Cut(string(b), marker)
	if !found {
		t.Fatalf("README.md has no %q", marker)
	}
	_, rest, found = strings.Cut(rest, "```sh\n")
	block, _, closed := strings.Cut(rest, "```")
	if !found || !closed {
		t.Fatalf("README.md has no ```sh block after %q", marker)
	}
	comment := regexp.MustCompile(`\s+#\s*(.*)$`)
	number := regexp.MustCompile(`^\d+$`)
	var lines []cliTourLine
	for _, l := range strings.Split(block, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var tl cliTourLine
		if m := comment.FindStringSubmatchIndex(l); m != nil {
			if c := l[m[2]:m[3]]; number.MatchString(c) {
				tl.want = c + "\n"
			}
			l = l[:m[0]]
		}
		tl.cmd = l
		lines = append(lines, tl)
	}
	return lines
}

// TestE2ECLIReadmeTour runs every line of the README's "A short tour" as
// written, through sh, with nucleusctl on PATH and NUCLEUS_ADDRESS naming
// the test daemon. Following commands (logs -f, events) run alongside: logs
// -f must end by itself once web is stopped; events is interrupted once it
// has shown web's whole life.
func TestE2ECLIReadmeTour(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	lines := cliReadmeTour(t)
	dir := cliTempDir(t, "nucleus-cli-tour-")
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte("tour-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cliTourEnv(t, d)
	shell := func(line string) *exec.Cmd {
		cmd := exec.Command("/bin/sh", "-c", line)
		cmd.Dir, cmd.Env = dir, env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	has := func(subs ...string) func(string) bool {
		return func(out string) bool {
			for _, s := range subs {
				if !strings.Contains(out, s) {
					return false
				}
			}
			return true
		}
	}
	is := func(want string) func(string) bool { return func(out string) bool { return out == want } }
	checks := []struct {
		sub   string
		check func(string) bool
	}{
		{"/bin/echo hello", is("hello\n")},
		{"run -d --name web", cliIDLine.MatchString},
		{"nucleusctl ps", has("CONTAINER ID", "NAME", "COMMAND", "CREATED", "STATUS", "web", "Up ")},
		{"exec web", has("uid=0", "bin\n", "usr\n")},
		{"stats --no-stream", has("CPU %", "web")},
		{"stop web", is("web\nweb\n")},
		{"echo secret", is("secret\n")},
		{"--secret token=", is("tour-token\n")},
		{"nucleusctl version", has("Client:", "Server:", "API version:", "nucleus.v1", "Platform:", "systrap")},
	}
	var logsF, events *cliBackground
	for _, l := range lines {
		switch {
		case strings.Contains(l.cmd, "logs -f"):
			logsF = cliStart(t, shell(l.cmd))
			logsF.waitBlocked(t, 30*time.Second) // following before web stops
			continue
		case strings.Contains(l.cmd, "nucleusctl events"):
			events = cliStart(t, shell(l.cmd))
			continue
		}
		out, errb, code := cliRun(t, shell(l.cmd))
		if code != 0 {
			t.Errorf("tour line %q: exit %d, stdout %q, stderr %q", l.cmd, code, out, errb)
			continue
		}
		if l.want != "" && out != l.want {
			t.Errorf("tour line %q: stdout %q, the README says %q", l.cmd, out, l.want)
		}
		for _, c := range checks {
			if strings.Contains(l.cmd, c.sub) && !c.check(out) {
				t.Errorf("tour line %q: unexpected stdout %q (stderr %q)", l.cmd, out, errb)
			}
		}
	}
	if logsF == nil || events == nil {
		t.Fatal("the tour no longer has logs -f and events lines")
	}
	if code := logsF.wait(t, 30*time.Second); code != 0 {
		out, errb := logsF.output()
		t.Errorf("logs -f web: exit %d after web stopped, stdout %q, stderr %q", code, out, errb)
	}
	out := events.waitStdout(t, 30*time.Second, func(out string) bool {
		return regexp.MustCompile(`container deleted [0-9a-f]{32} \(.*name=web`).MatchString(out)
	})
	var webTypes []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 3 && strings.Contains(l, "name=web,") {
			webTypes = append(webTypes, f[2])
		}
	}
	if strings.Join(webTypes, ",") != "created,started,killed,exited,deleted" { // stop: the signal sent, then the exit
		t.Errorf("events --since 0 for web: %v\n%s", webTypes, out)
	}
	events.signal(syscall.SIGINT) // Ctrl-C
	events.wait(t, 10*time.Second)
}

// TestE2ECLIExitCodesAndErrors: the container's code is nucleusctl's (0, 7,
// 126, 127, 137 for a kill or a timeout); failures of nucleusctl or nucleusd
// are 125 with one "nucleusctl: " line on stderr.
func TestE2ECLIExitCodesAndErrors(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})

	out, errb, code := d.CtlRun("", "run", "--rm", "/bin/sh", "-c", "echo out; echo err >&2")
	if code != 0 || out != "out\n" || errb != "err\n" {
		t.Errorf("run echo: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	out, errb, code = d.CtlRun("", "run", "--rm", "/bin/sh", "-c", "exit 7")
	if code != 7 || out != "" || errb != "" {
		t.Errorf("run exit 7: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	_, errb, code = d.CtlRun("", "run", "/nonexistent")
	if code != 127 {
		t.Errorf("run /nonexistent: exit %d, want 127", code)
	}
	cliOneErrorLine(t, "run /nonexistent", errb, "not-found")
	if strings.Contains(errb, "container  ") {
		t.Errorf("run /nonexistent names an empty container: %q", errb)
	}
	_, errb, code = d.CtlRun("", "run", "/bin")
	if code != 126 {
		t.Errorf("run /bin (a directory): exit %d, want 126", code)
	}
	cliOneErrorLine(t, "run /bin", errb, "not-executable")
	if _, _, code = d.CtlRun("", "run", "--rm", "/bin/sh", "-c", "kill -KILL $$"); code != 137 {
		t.Errorf("run of a process killed by SIGKILL: exit %d, want 137", code)
	}
	begin := time.Now()
	_, errb, code = d.CtlRun("", "run", "--rm", "--timeout", "1s", "/bin/sleep", "30")
	if code != 137 || time.Since(begin) > 20*time.Second {
		t.Errorf("run --timeout 1s sleep 30: exit %d after %v, want 137", code, time.Since(begin))
	}
	cliOneErrorLine(t, "run --timeout 1s", errb, "timeout")
	if ps := ctlOK(t, d, "", "ps", "-a", "-q"); ps != "" {
		t.Errorf("runs above left containers: %q", ps)
	}

	// create + start -a and exec propagate codes too.
	id := ctlOK(t, d, "", "create", "--", "/bin/sh", "-c", "echo started; exit 5")
	if !cliIDLine.MatchString(id) {
		t.Fatalf("create printed %q, want an id", id)
	}
	id = strings.TrimSpace(id)
	out, _, code = d.CtlRun("", "start", "-a", id)
	if code != 5 || out != "started\n" {
		t.Errorf("start -a: exit %d, stdout %q; want 5, started", code, out)
	}
	ctlOK(t, d, "", "rm", id)
	id = strings.TrimSpace(ctlOK(t, d, "", "run", "-d", "--name", "box", "/bin/sleep", "600"))
	if _, _, code = d.CtlRun("", "exec", "box", "/bin/sh", "-c", "exit 3"); code != 3 {
		t.Errorf("exec exit 3: exit %d", code)
	}
	if _, errb, code = d.CtlRun("", "exec", "box", "--", "/nonexistent"); code != 127 {
		t.Errorf("exec /nonexistent: exit %d, want 127 (stderr %q)", code, errb)
	}

	// nucleusctl's and nucleusd's own failures.
	ctlFails(t, d, 125, `container "nosuchcontainer" not found`, "rm", "nosuchcontainer")
	ctlFails(t, d, 125, "not found", "inspect", "nosuchcontainer")
	ctlFails(t, d, 125, "not found", "logs", "nosuchcontainer")
	ctlFails(t, d, 125, "not found", "exec", "nosuchcontainer", "/bin/true")
	ctlFails(t, d, 125, "is running", "rm", "box")
	ctlFails(t, d, 125, "cannot connect to nucleusd at unix:///nonexistent.sock", "--address", "unix:///nonexistent.sock", "ps")
	ctlFails(t, d, 125, "unknown flag: --bogus", "run", "--bogus", "/bin/true")
	ctlFails(t, d, 125, "requires at least 1 argument", "run")
	ctlFails(t, d, 125, `detach keys "ctrl-1"`, "run", "-it", "--detach-keys", "ctrl-1", "/bin/true")
	ctlFails(t, d, 125, `network "host" is not allowed`, "run", "--rm", "--network", "host", "/bin/true")
	ctlFails(t, d, 125, "network", "run", "--rm", "--network", "bridge", "/bin/true")
	ctlFails(t, d, 125, `unknown hook set "nope"`, "run", "--rm", "--hooks", "nope", "/bin/true")
	ctlFails(t, d, 125, "allowed_host_paths", "run", "--rm", "-v", "/srv:/data", "/bin/true")
	ctlFails(t, d, 125, "invalid filter", "ps", "--filter", "bogus=1")
	ctlFails(t, d, 125, "invalid", "ps", "-o", "yaml")
	ctlFails(t, d, 125, "invalid argument \"tcsh\"", "completion", "tcsh")
	ctlFails(t, d, 125, "nothing to update", "update", "box")
	if ps := ctlOK(t, d, "", "ps", "-a", "-q"); ps != cliShortIDLine(id) {
		t.Errorf("refused commands changed the containers: ps -aq = %q", ps)
	}

	// NUCLEUS_ADDRESS stands in for --address; --address wins over it.
	out, errb, code = cliRun(t, cliCommand(t, d, cliOpts{noAddress: true, env: []string{"NUCLEUS_ADDRESS=unix://" + d.Socket}}, "ps", "-q"))
	if code != 0 || out != cliShortIDLine(id) {
		t.Errorf("NUCLEUS_ADDRESS=<socket> ps -q: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	_, errb, code = cliRun(t, cliCommand(t, d, cliOpts{noAddress: true, env: []string{"NUCLEUS_ADDRESS=unix:///nonexistent.sock"}}, "ps"))
	if code != 125 {
		t.Errorf("NUCLEUS_ADDRESS=unix:///nonexistent.sock ps: exit %d", code)
	}
	cliOneErrorLine(t, "NUCLEUS_ADDRESS=unix:///nonexistent.sock", errb, "unix:///nonexistent.sock")
	if _, errb, code = cliRun(t, cliCommand(t, d, cliOpts{env: []string{"NUCLEUS_ADDRESS=unix:///nonexistent.sock"}}, "ps")); code != 0 {
		t.Errorf("--address with a wrong NUCLEUS_ADDRESS: exit %d, stderr %q", code, errb)
	}

	// The global --timeout bounds a command's calls; a stream that outlives
	// it ends with 125 and says so, after printing what it got.
	begin = time.Now()
	_, errb, code = d.CtlRun("", "--timeout", "2s", "logs", "-f", "box")
	if code != 125 || time.Since(begin) > 15*time.Second {
		t.Errorf("--timeout 2s logs -f of a running container: exit %d after %v", code, time.Since(begin))
	}
	cliOneErrorLine(t, "--timeout 2s logs -f", errb, "timed out after 2s (--timeout)")
	_, errb, code = d.CtlRun("", "--timeout", "2s", "wait", "box")
	if code != 125 {
		t.Errorf("--timeout 2s wait of a running container: exit %d", code)
	}
	cliOneErrorLine(t, "--timeout 2s wait", errb, "timed out after 2s (--timeout)")
	// For run and create, --timeout is the container's max runtime (the
	// run flag shadows the global one, before or after the command).
	begin = time.Now()
	if _, _, code = d.CtlRun("", "--timeout", "1s", "run", "--rm", "/bin/sleep", "30"); code != 137 || time.Since(begin) > 20*time.Second {
		t.Errorf("--timeout 1s run sleep 30: exit %d after %v, want 137 (max runtime)", code, time.Since(begin))
	}
	if out := ctlOK(t, d, "", "rm", "-f", "box"); out != "box\n" {
		t.Errorf("rm -f box printed %q", out)
	}
}

// cliShortIDLine is ps -q's line for id.
func cliShortIDLine(id string) string { return id[:12] + "\n" }

// TestE2ECLIRunFlags: every container flag of run and create reaches the
// sandbox: checked from inside the container, on the host, and in inspect.
func TestE2ECLIRunFlags(t *testing.T) {
	allowed := cliTempDir(t, "nucleus-cli-allowed-")
	hooksDir, hooksCfg := hookFixture(t)
	d := StartDaemon(t, DaemonOptions{Config: "[security]\nallowed_host_paths = [\"" + allowed + "\"]\n" + hooksCfg})

	// -i forwards stdin; without it the container's stdin is empty.
	if out := ctlOK(t, d, "hello\n", "run", "--rm", "-i", "/bin/cat"); out != "hello\n" {
		t.Errorf("run -i cat: %q", out)
	}
	if out := ctlOK(t, d, "hello\n", "run", "--rm", "/bin/cat"); out != "" {
		t.Errorf("run cat without -i read stdin: %q", out)
	}

	// -e (repeatable, and bare K from nucleusctl's environment), --env-file.
	envFile := filepath.Join(allowed, "job.env")
	if err := os.WriteFile(envFile, []byte("# comment\nA=from-file\nB=two words\nX=overridden\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errb, code := cliRun(t, cliCommand(t, d, cliOpts{env: []string{"FROM_CALLER=passed"}},
		"run", "--rm", "-e", "X=1", "--env", "Y=2", "-e", "FROM_CALLER", "--env-file", envFile, "--user", "1234", "--workdir", "/usr",
		"/bin/sh", "-c", `echo "$X|$Y|$FROM_CALLER|$A|$B"; id -u; pwd`))
	if code != 0 || out != "1|2|passed|from-file|two words\n1234\n/usr\n" {
		t.Errorf("run -e/--env-file/--user/--workdir: exit %d, stdout %q, stderr %q", code, out, errb)
	}

	// -u, -w, --hostname; --pids-limit is the in-sandbox RLIMIT_NPROC.
	out = ctlOK(t, d, "", "run", "--rm", "-u", "1000:1001", "-w", "/tmp", "--hostname", "boxy", "--pids-limit", "50",
		"/bin/sh", "-c", "id -u; id -g; pwd; hostname; grep 'Max processes' /proc/self/limits")
	if !regexp.MustCompile(`^1000\n1001\n/tmp\nboxy\nMax processes\s+50\s+50\s`).MatchString(out) {
		t.Errorf("run -u -w --hostname --pids-limit: %q", out)
	}

	// -v: ro refuses writes, rw (and the default) write through to the host.
	vol := filepath.Join(allowed, "vol")
	if err := os.Mkdir(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	// 0777 whatever the umask: sandbox root is not host root (a user
	// namespace), so only a directory others may write takes its files.
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "in.txt"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errb, code = d.CtlRun("", "run", "--rm", "-v", vol+":/data:ro", "/bin/sh", "-c", "cat /data/in.txt; echo x > /data/ro.txt")
	if code == 0 || out != "from host\n" || !strings.Contains(errb, "Read-only file system") {
		t.Errorf("run -v :ro: exit %d, stdout %q, stderr %q; want the read to work and the write to fail", code, out, errb)
	}
	if _, err := os.Stat(filepath.Join(vol, "ro.txt")); err == nil {
		t.Error("a write to a :ro volume reached the host")
	}
	ctlOK(t, d, "", "run", "--rm", "--volume", vol+":/data:rw", "/bin/sh", "-c", "echo from container > /data/rw.txt")
	ctlOK(t, d, "", "run", "--rm", "-v", vol+":/data", "/bin/sh", "-c", "echo default > /data/default.txt")
	for name, want := range map[string]string{"rw.txt": "from container\n", "default.txt": "default\n"} {
		if b, err := os.ReadFile(filepath.Join(vol, name)); err != nil || string(b) != want {
			t.Errorf("host file %s written through the volume: %q %v", name, b, err)
		}
	}

	// --tmpfs with a size.
	if out := ctlOK(t, d, "", "run", "--rm", "--tmpfs", "/scratch:size=1m", "/bin/sh", "-c",
		"df -k /scratch | tail -1; echo hi > /scratch/f && cat /scratch/f"); !regexp.MustCompile(`^\S+\s+1024\s.*\nhi\n$`).MatchString(out) {
		t.Errorf("run --tmpfs /scratch:size=1m: %q", out)
	}

	// --rootfs: a busybox tree, read-only, instead of the host's /bin etc.
	if rootfs := cliBusyboxRootfs(t, allowed); rootfs != "" {
		out, errb, code = d.CtlRun("", "run", "--rm", "--rootfs", rootfs, "/bin/sh", "-c", "echo in rootfs; ls /; ls /usr || echo no-usr; echo x > /f || echo ro")
		if code != 0 || !strings.HasPrefix(out, "in rootfs\nbin\n") || !strings.HasSuffix(out, "no-usr\nro\n") {
			t.Errorf("run --rootfs busybox: exit %d, stdout %q, stderr %q", code, out, errb)
		}
	}
	ctlFails(t, d, 125, "allowed_host_paths", "run", "--rm", "--rootfs", "/srv", "/bin/sh")

	// --secret: the file's bytes at /run/secrets/NAME, mode 0400, and never
	// in inspect.
	secret := filepath.Join(allowed, "token.txt")
	if err := os.WriteFile(secret, []byte("s3cret-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := ctlOK(t, d, "", "run", "--rm", "--secret", "token="+secret, "/bin/sh", "-c",
		"cat /run/secrets/token; echo; stat -c %a /run/secrets/token"); out != "s3cret-value\n400\n" {
		t.Errorf("run --secret: %q", out)
	}

	// --network: none has only lo; sandbox runs (gVisor netstack); host is
	// refused by the default policy (TestE2ECLIExitCodesAndErrors). Known
	// daemon gap, not asserted here: a sandbox-network container has no
	// interface at all, not even lo (127.0.0.1 is unreachable).
	if out := ctlOK(t, d, "", "run", "--rm", "--network", "none", "/bin/cat", "/proc/net/dev"); !strings.Contains(out, "lo:") {
		t.Errorf("--network none: /proc/net/dev %q", out)
	}
	ctlOK(t, d, "", "run", "--rm", "--network", "sandbox", "/bin/cat", "/proc/net/dev")

	// --hooks: the operator's set runs around the container.
	ctlOK(t, d, "", "run", "--rm", "--hooks", "rec", "/bin/true")
	deadline := time.Now().Add(20 * time.Second)
	var phases []string
	for time.Now().Before(deadline) {
		phases = phases[:0]
		for _, c := range hookCalls(t, hooksDir) {
			phases = append(phases, c.Phase)
		}
		if len(phases) >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Join(phases, ",") != "createRuntime,poststart,poststop" {
		t.Errorf("run --hooks rec: hook calls %v", phases)
	}
	ctlFails(t, d, 125, "quota service says no", "run", "--rm", "--hooks", "fail", "/bin/true")

	// -d with every spec flag: inspect shows them; --rm removes it after.
	id := strings.TrimSpace(ctlOK(t, d, "", "run", "-d", "--rm", "--name", "full", "-l", "team=a", "--label", "tier=web",
		"--memory", "256m", "--cpus", "1.5", "--pids-limit", "64", "--timeout", "30s", "-u", "1000:1000", "-w", "/tmp",
		"--hostname", "fullhost", "--network", "sandbox", "--tmpfs", "/scratch:size=2m", "-v", vol+":/data:ro",
		"--secret", "token="+secret, "--hooks", "rec", "-e", "K=V", "-i", "--", "/bin/sh", "-c", "read line; echo got $line"))
	if len(id) != 32 {
		t.Fatalf("run -d printed %q, want an id", id)
	}
	c := cliInspect(t, d, "full")
	spec := c.GetSpec()
	if c.GetId() != id || c.GetName() != "full" || c.GetLabels()["team"] != "a" || c.GetLabels()["tier"] != "web" ||
		spec.GetResources().GetMemoryBytes() != 256<<20 || spec.GetResources().GetCpus() != 1.5 || spec.GetResources().GetPids() != 64 ||
		spec.GetTimeout().AsDuration() != 30*time.Second || spec.GetUser().GetUid() != 1000 || spec.GetCwd() != "/tmp" ||
		spec.GetHostname() != "fullhost" || spec.GetNetwork() != "sandbox" || len(spec.GetVolumes()) != 2 ||
		spec.GetHookSet() != "rec" || !slices.Equal(spec.GetEnv(), []string{"K=V"}) || !spec.GetAutoRemove() || !spec.GetOpenStdin() {
		t.Errorf("inspect of run -d with every flag: %v", c)
	}
	if len(spec.GetSecrets()) != 1 || spec.GetSecrets()[0].GetName() != "token" || len(spec.GetSecrets()[0].GetData()) != 0 {
		t.Errorf("inspect secrets: %v (data must never be returned)", spec.GetSecrets())
	}
	if stats := cliDecodeLines(t, ctlOK(t, d, "", "stats", "--no-stream", "-o", "json", "full"), func() *nucleusv1.ContainerStats { return &nucleusv1.ContainerStats{} }); len(stats) != 1 || stats[0].GetMemoryLimitBytes() != 256<<20 {
		t.Errorf("stats of a --memory 256m container: %v", stats)
	}
	ctlOK(t, d, "", "kill", "full")
	cliWaitGone(t, d, id)

	// create takes the same flags and prints the id; start -a runs it.
	id = strings.TrimSpace(ctlOK(t, d, "", "create", "--name", "job", "-e", "MODE=batch", "-l", "kind=job", "--memory", "128m",
		"-w", "/tmp", "--", "/bin/sh", "-c", "echo $MODE in $(pwd); exit 4"))
	if c := cliInspect(t, d, id[:12]); c.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_CREATED || c.GetName() != "job" ||
		c.GetSpec().GetResources().GetMemoryBytes() != 128<<20 || c.GetLabels()["kind"] != "job" {
		t.Errorf("inspect after create: %v", c)
	}
	out, errb, code = d.CtlRun("", "start", "-a", "job")
	if code != 4 || out != "batch in /tmp\n" {
		t.Errorf("start -a job: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	ctlOK(t, d, "", "rm", "job")
	ctlOK(t, d, "", "create", "--name", "job2", "--rm", "/bin/sh", "-c", "exit 6")
	if out := ctlOK(t, d, "", "start", "job2"); out != "job2\n" {
		t.Errorf("start job2 printed %q", out)
	}
	cliWaitGone(t, d, "job2")
}

// TestE2ECLIManage: ps, inspect, exec, pause, resume, update, stats, kill,
// stop, wait, logs, rm and events on live containers, with their JSON
// output parsed.
func TestE2ECLIManage(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	exitedEvents := cliStart(t, cliCommand(t, d, cliOpts{}, "events", "-o", "json", "--filter", "type=exited"))
	exitedEvents.waitBlocked(t, 30*time.Second) // live events only: be listening first
	run := func(args ...string) string {
		t.Helper()
		out := ctlOK(t, d, "", append([]string{"run", "-d"}, args...)...)
		if !cliIDLine.MatchString(out) {
			t.Fatalf("run -d %v printed %q, want an id", args, out)
		}
		return strings.TrimSpace(out)
	}
	web := run("--name", "web", "-l", "team=a", "/bin/sleep", "600")
	other := run("--name", "other", "-l", "team=b", "/bin/sh", "-c", "trap 'exit 42' USR1; while :; do sleep 0.05; done")
	idle := strings.TrimSpace(ctlOK(t, d, "", "create", "--name", "idle", "/bin/true"))

	// ps: running and paused ones; -a all; -q ids; filters; -o json.
	table := ctlOK(t, d, "", "ps")
	if rows := strings.Split(strings.TrimSpace(table), "\n"); len(rows) != 3 || !strings.HasPrefix(rows[0], "CONTAINER ID") ||
		!strings.Contains(table, web[:12]+"   web ") || !strings.Contains(table, "Up ") || strings.Contains(table, "idle") {
		t.Errorf("ps:\n%s", table)
	}
	if all := ctlOK(t, d, "", "ps", "-a"); !strings.Contains(all, "idle") || !strings.Contains(all, "Created") {
		t.Errorf("ps -a:\n%s", all)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ps", "-q"}, cliShortIDLine(other) + cliShortIDLine(web)}, // newest first
		{[]string{"ps", "-a", "-q"}, cliShortIDLine(idle) + cliShortIDLine(other) + cliShortIDLine(web)},
		{[]string{"ps", "-a", "-q", "--no-trunc"}, idle + "\n" + other + "\n" + web + "\n"},
		{[]string{"ps", "-a", "-q", "--filter", "label=team=a"}, cliShortIDLine(web)},
		{[]string{"ps", "-q", "--filter", "label=team"}, cliShortIDLine(other) + cliShortIDLine(web)},
		{[]string{"ps", "-q", "--filter", "status=created"}, cliShortIDLine(idle)},
		{[]string{"ps", "-aq", "-f", "name=oth"}, cliShortIDLine(other)},
	} {
		if out := ctlOK(t, d, "", c.args...); out != c.want {
			t.Errorf("%v = %q, want %q", c.args, out, c.want)
		}
	}
	ctrs := cliContainers(t, ctlOK(t, d, "", "ps", "-a", "-o", "json"))
	if len(ctrs) != 3 || ctrs[0].GetName() != "idle" || ctrs[0].GetState() != nucleusv1.ContainerState_CONTAINER_STATE_CREATED ||
		ctrs[2].GetId() != web || ctrs[2].GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING ||
		ctrs[2].GetLabels()["team"] != "a" || ctrs[2].GetPid() == 0 || ctrs[2].GetStartedAt() == nil {
		t.Errorf("ps -a -o json: %v", ctrs)
	}

	// inspect: by name, id prefix, several; a missing one is reported and
	// the others still printed.
	if got := cliContainers(t, ctlOK(t, d, "", "inspect", "web", other[:8])); len(got) != 2 || got[0].GetId() != web || got[1].GetName() != "other" {
		t.Errorf("inspect web %s: %v", other[:8], got)
	}
	out, errb, code := d.CtlRun("", "inspect", "web", "nosuch")
	if got := cliContainers(t, out); code != 125 || len(got) != 1 || got[0].GetId() != web {
		t.Errorf("inspect web nosuch: exit %d, %v", code, got)
	}
	cliOneErrorLine(t, "inspect web nosuch", errb, `"nosuch" not found`)

	// exec: -i, -e, -u, -w; stdout and stderr apart.
	out, errb, code = d.CtlRun("piped\n", "exec", "-i", "-e", "FOO=bar", "--env", "FOO=baz", "-u", "1000:1000", "-w", "/tmp", "web",
		"/bin/sh", "-c", "read x; echo $x $FOO; id -u; pwd; echo to-err >&2")
	if code != 0 || out != "piped baz\n1000\n/tmp\n" || errb != "to-err\n" {
		t.Errorf("exec -i -e -u -w: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	if out := ctlOK(t, d, "not forwarded\n", "exec", "web", "--", "/bin/cat"); out != "" {
		t.Errorf("exec without -i read stdin: %q", out)
	}

	// pause, resume.
	if out := ctlOK(t, d, "", "pause", "web"); out != "web\n" {
		t.Errorf("pause printed %q", out)
	}
	if c := cliInspect(t, d, "web"); c.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_PAUSED {
		t.Errorf("after pause: %v", c.GetState())
	}
	if out := ctlOK(t, d, "", "ps", "--filter", "status=paused"); !strings.Contains(out, "(Paused)") {
		t.Errorf("ps of a paused container:\n%s", out)
	}
	ctlFails(t, d, 125, "paused", "pause", "web")
	if out := ctlOK(t, d, "", "resume", "web"); out != "web\n" {
		t.Errorf("resume printed %q", out)
	}
	if c := cliInspect(t, d, "web"); c.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Errorf("after resume: %v", c.GetState())
	}

	// update: memory and CPUs change live; pids is fixed at create.
	if out := ctlOK(t, d, "", "update", "--memory", "300m", "--cpus", "0.25", "web"); out != "web\n" {
		t.Errorf("update printed %q", out)
	}
	if r := cliInspect(t, d, "web").GetSpec().GetResources(); r.GetMemoryBytes() != 300<<20 || r.GetCpus() != 0.25 {
		t.Errorf("inspect after update: %v", r)
	}
	ctlFails(t, d, 125, "pids cannot change", "update", "--pids-limit", "5", "web")

	// stats: one sample, or a stream of them.
	newStats := func() *nucleusv1.ContainerStats { return &nucleusv1.ContainerStats{} }
	stats := cliDecodeLines(t, ctlOK(t, d, "", "stats", "--no-stream", "-o", "json"), newStats)
	if len(stats) != 2 {
		t.Errorf("stats --no-stream -o json: %v, want web and other", stats)
	}
	for _, s := range stats {
		if s.GetId() == web && (s.GetMemoryLimitBytes() != 300<<20 || s.GetMemoryUsageBytes() == 0 || s.GetPidsCurrent() == 0) {
			t.Errorf("stats of web: %v", s)
		}
	}
	if out := ctlOK(t, d, "", "stats", "--no-stream", "web"); !strings.HasPrefix(out, "CONTAINER ID") || !strings.Contains(out, "300MiB") ||
		strings.Count(strings.TrimSpace(out), "\n") != 1 {
		t.Errorf("stats --no-stream web:\n%s", out)
	}
	streaming := cliStart(t, cliCommand(t, d, cliOpts{}, "stats", "-o", "json", "web"))
	out = streaming.waitStdout(t, 30*time.Second, func(s string) bool { return strings.Count(s, "\n") >= 2 })
	streaming.signal(syscall.SIGINT)
	if s := cliDecodeLines(t, out, newStats); len(s) < 2 || s[0].GetId() != web || !s[1].GetTime().AsTime().After(s[0].GetTime().AsTime()) {
		t.Errorf("stats stream: %v", s)
	}

	// logs: -f follows a live container until it exits, by itself (the
	// lines come over a second: all of them means it followed to the end).
	printer := run("/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done; echo oops >&2; exit 4")
	follow := cliStart(t, cliCommand(t, d, cliOpts{}, "logs", "-f", printer))
	if code := follow.wait(t, 30*time.Second); code != 0 {
		t.Errorf("logs -f: exit %d", code)
	}
	out, errb = follow.output()
	if out != "line1\nline2\nline3\nline4\nline5\n" || errb != "oops\n" {
		t.Errorf("logs -f: stdout %q, stderr %q", out, errb)
	}
	out, errb, _ = d.CtlRun("", "logs", "--tail", "3", printer)
	if out != "line4\nline5\n" || errb != "oops\n" {
		t.Errorf("logs --tail 3: stdout %q, stderr %q", out, errb)
	}
	if out := ctlOK(t, d, "", "logs", "-n", "1", printer); out != "" {
		t.Errorf("logs -n 1 (the last entry is stderr's): stdout %q", out)
	}
	stamped := strings.Split(strings.TrimSpace(ctlOK(t, d, "", "logs", "-t", printer)), "\n")
	stampRE := regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) line\d$`)
	if len(stamped) != 5 || !stampRE.MatchString(stamped[2]) {
		t.Fatalf("logs -t: %q", stamped)
	}
	third := stampRE.FindStringSubmatch(stamped[2])[1]
	for since, want := range map[string]string{
		third:                  "line3\nline4\nline5\n",
		"0":                    "line1\nline2\nline3\nline4\nline5\n",
		"1h":                   "line1\nline2\nline3\nline4\nline5\n",
		"2020-01-02T00:00:00Z": "line1\nline2\nline3\nline4\nline5\n",
		strconv.FormatInt(time.Now().Unix()+3600, 10): "",
	} {
		if out := ctlOK(t, d, "", "logs", "--since", since, printer); out != want {
			t.Errorf("logs --since %s: %q, want %q", since, out, want)
		}
	}

	// kill, stop, wait.
	stubborn := run("--name", "stubborn", "/bin/sh", "-c", "trap '' TERM; echo trapped; sleep 60")
	// Its SIGTERM must come once the trap is set (else it dies of it, 143).
	if !waitFor(10*time.Second, func() bool { return strings.Contains(ctlOK(t, d, "", "logs", "stubborn"), "trapped") }) {
		t.Fatal("stubborn never set its trap")
	}
	if out := ctlOK(t, d, "", "kill", "-s", "SIGUSR1", "other"); out != "other\n" {
		t.Errorf("kill -s SIGUSR1 printed %q", out)
	}
	begin := time.Now()
	if out := ctlOK(t, d, "", "stop", "-t", "1", "stubborn"); out != "stubborn\n" {
		t.Errorf("stop -t 1 printed %q", out)
	}
	if el := time.Since(begin); el < time.Second {
		t.Errorf("stop -t 1 of a container ignoring SIGTERM took %v", el)
	}
	if out := ctlOK(t, d, "", "wait", "other", stubborn, printer); out != "42\n137\n4\n" {
		t.Errorf("wait other stubborn printer = %q, want 42, 137, 4", out)
	}
	ctlOK(t, d, "", "kill", "-s", "9", "web")
	if out := ctlOK(t, d, "", "wait", "web"); out != "137\n" {
		t.Errorf("wait after kill -s 9 = %q", out)
	}

	// The live follower saw each exit.
	out = exitedEvents.waitStdout(t, 30*time.Second, func(s string) bool { return strings.Count(s, "\n") >= 4 })
	exitedEvents.signal(syscall.SIGINT)
	newEvent := func() *nucleusv1.Event { return &nucleusv1.Event{} }
	codes := map[string]int32{}
	for _, ev := range cliDecodeLines(t, out, newEvent) {
		if ev.GetType() != nucleusv1.EventType_EVENT_TYPE_EXITED {
			t.Errorf("events --filter type=exited sent %v", ev)
		}
		codes[ev.GetContainerName()] = ev.GetExitCode()
	}
	if codes["other"] != 42 || codes["stubborn"] != 137 || codes["web"] != 137 || len(codes) != 4 {
		t.Errorf("live exited events: %v", codes)
	}

	// rm: a created one, several, -f.
	ctlOK(t, d, "", "start", "idle")
	if out := ctlOK(t, d, "", "wait", "idle"); out != "0\n" {
		t.Errorf("wait idle = %q", out)
	}
	run("--name", "late", "/bin/sleep", "600")
	ctlFails(t, d, 125, "is running", "rm", "late")
	if out := ctlOK(t, d, "", "rm", "-f", "late"); out != "late\n" {
		t.Errorf("rm -f printed %q", out)
	}
	if out := ctlOK(t, d, "", "rm", "web", "other", stubborn, printer[:12], "idle"); out != "web\nother\n"+stubborn+"\n"+printer[:12]+"\nidle\n" {
		t.Errorf("rm of five printed %q", out)
	}
	if out := ctlOK(t, d, "", "ps", "-a", "-q"); out != "" {
		t.Errorf("after rm: ps -aq = %q", out)
	}

	// events: the whole history as JSON, until --timeout ends it (125).
	out, errb, code = d.CtlRun("", "--timeout", "3s", "events", "-o", "json", "--since", "0")
	if code != 125 {
		t.Errorf("--timeout 3s events: exit %d", code)
	}
	cliOneErrorLine(t, "--timeout 3s events", errb, "timed out after 3s")
	events := cliDecodeLines(t, out, newEvent)
	byID := map[string][]string{}
	var last uint64
	for _, ev := range events {
		if ev.GetSequence() <= last {
			t.Errorf("event sequence %d after %d", ev.GetSequence(), last)
		}
		last = ev.GetSequence()
		byID[ev.GetContainerId()] = append(byID[ev.GetContainerId()], cliEventType(ev.GetType().String()))
	}
	for id, want := range map[string]string{
		web:     "created,started,paused,resumed,updated,killed,exited,deleted",
		printer: "created,started,exited,deleted",
		idle:    "created,started,exited,deleted",
	} {
		if got := strings.Join(byID[id], ","); got != want {
			t.Errorf("events of %s: %s, want %s", id[:12], got, want)
		}
	}
	out, _, _ = d.CtlRun("", "--timeout", "2s", "events", "-o", "json", "--since", "0", "--filter", "container="+printer, "--filter", "type=exited")
	if evs := cliDecodeLines(t, out, newEvent); len(evs) != 1 || evs[0].GetExitCode() != 4 || evs[0].GetContainerId() != printer {
		t.Errorf("events --filter container=… --filter type=exited: %v", evs)
	}
	ctlFails(t, d, 125, "sequence number", "events", "--since", "10m")
}

// cliEventType is "exited" for EVENT_TYPE_EXITED.
func cliEventType(s string) string { return strings.ToLower(strings.TrimPrefix(s, "EVENT_TYPE_")) }

// TestE2ECLIVersionInfoHelpCompletion: version and info (table and JSON),
// --help with examples for every command, completion scripts, and
// container names completed from the daemon.
func TestE2ECLIVersionInfoHelpCompletion(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})

	var v struct {
		Client struct {
			Version   string `json:"version"`
			GoVersion string `json:"go_version"`
			OSArch    string `json:"os_arch"`
		} `json:"client"`
		Server json.RawMessage `json:"server"`
	}
	if err := json.Unmarshal([]byte(ctlOK(t, d, "", "version", "-o", "json")), &v); err != nil {
		t.Fatalf("version -o json: %v", err)
	}
	sv := &nucleusv1.VersionResponse{}
	if err := protojson.Unmarshal(v.Server, sv); err != nil {
		t.Fatalf("version -o json server: %v (%s)", err, v.Server)
	}
	if v.Client.Version == "" || !strings.HasPrefix(v.Client.GoVersion, "go") || v.Client.OSArch == "" ||
		sv.GetApiVersion() != "nucleus.v1" || !strings.Contains(sv.GetRunscVersion(), "runsc") || sv.GetVersion() == "" {
		t.Errorf("version -o json: %+v %v", v.Client, sv)
	}
	if out := ctlOK(t, d, "", "version"); !strings.Contains(out, "Client:") || !strings.Contains(out, "Server:") || !strings.Contains(out, "nucleus.v1") {
		t.Errorf("version:\n%s", out)
	}
	// Unreachable: the client half, then the error, exit 125.
	out, errb, code := d.CtlRun("", "--address", "unix:///nonexistent.sock", "version", "-o", "json")
	if code != 125 || !strings.Contains(out, `"server": null`) {
		t.Errorf("version against no daemon: exit %d, stdout %q", code, out)
	}
	cliOneErrorLine(t, "version against no daemon", errb, "cannot connect")

	ctlOK(t, d, "", "create", "--name", "idle", "/bin/true")
	info := &nucleusv1.InfoResponse{}
	if err := protojson.Unmarshal([]byte(ctlOK(t, d, "", "info", "-o", "json")), info); err != nil {
		t.Fatalf("info -o json: %v", err)
	}
	if info.GetPlatform() != "systrap" || info.GetRootDir() != d.Root || info.GetStateDir() != d.State || info.GetCallerUid() != 0 ||
		info.GetContainers() != 1 || info.GetDefaultNetwork() != "none" || info.GetMaxContainers() == 0 {
		t.Errorf("info -o json: %v", info)
	}
	if out := ctlOK(t, d, "", "info"); !strings.Contains(out, "Containers:") || !strings.Contains(out, " Created:") ||
		!strings.Contains(out, "Platform:") || !strings.Contains(out, d.Root) {
		t.Errorf("info:\n%s", out)
	}

	// --help: usage and examples, for nucleusctl and every command.
	root := ctlOK(t, d, "", "--help")
	commands := []string{"run", "create", "start", "ps", "inspect", "logs", "exec", "kill", "stop", "rm", "wait",
		"stats", "events", "pause", "resume", "update", "version", "info", "completion"}
	for _, c := range commands {
		if !regexp.MustCompile(`(?m)^  ` + c + ` `).MatchString(root) {
			t.Errorf("nucleusctl --help does not list %s", c)
		}
		out := ctlOK(t, d, "", c, "--help")
		if !strings.Contains(out, "Usage:\n  nucleusctl "+c) || !regexp.MustCompile(`Examples:\n  \S*nucleusctl `+c).MatchString(out) {
			t.Errorf("nucleusctl %s --help lacks usage or examples:\n%s", c, out)
		}
	}
	if !strings.Contains(root, "Examples:") || !strings.Contains(root, "Exit codes") {
		t.Errorf("nucleusctl --help:\n%s", root)
	}
	if out := ctlOK(t, d, "", "help", "run"); !strings.Contains(out, "Usage:\n  nucleusctl run") {
		t.Errorf("help run:\n%s", out)
	}

	// completion scripts, and container names completed from nucleusd.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out := ctlOK(t, d, "", "completion", sh)
		if len(out) < 1000 || !strings.Contains(out, "nucleusctl") {
			t.Errorf("completion %s: %d bytes:\n%.300s", sh, len(out), out)
		}
	}
	if out := ctlOK(t, d, "", "__complete", "rm", "id"); !strings.HasPrefix(out, "idle\tcreated\n") {
		t.Errorf("completing rm id: %q", out)
	}
	if _, err := exec.LookPath("bash"); err == nil {
		script := ctlOK(t, d, "", "completion", "bash")
		cmd := exec.Command("bash", "-c", "source /dev/stdin && complete -p nucleusctl")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "nucleusctl") {
			t.Errorf("bash cannot load the completion script: %v %s", err, out)
		}
	}
}
