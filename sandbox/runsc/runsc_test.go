package runsc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

const testID = "0123456789abcdef0123456789abcdef"

// fake sets up testdata/fake-runsc with its own behaviour directory.
type fake struct {
	t   *testing.T
	dir string
	r   *Runsc
}

func newFake(t *testing.T) *fake {
	t.Helper()
	bin, err := filepath.Abs("testdata/fake-runsc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("FAKE_RUNSC_DIR", dir)
	return &fake{t: t, dir: dir, r: &Runsc{Binary: bin, Root: "/run/nucleus/runsc"}}
}

// set writes <verb>.<what> in the behaviour directory.
func (f *fake) set(verb, what, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, verb+"."+what), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// calls returns the argv of every call so far, global flags included.
func (f *fake) calls() [][]string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "calls"))
	if err != nil {
		f.t.Fatal(err)
	}
	var calls [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		calls = append(calls, strings.Split(strings.TrimSuffix(line, "\037"), "\037"))
	}
	return calls
}

// lastVerbArgs returns the last call's argv from the verb on.
func (f *fake) lastVerbArgs() []string {
	calls := f.calls()
	argv := calls[len(calls)-1]
	for i, a := range argv {
		if !strings.HasPrefix(a, "--") {
			return argv[i:]
		}
	}
	return nil
}

var defaultGlobal = []string{"--network=none", "--platform=systrap", "--root=/run/nucleus/runsc"}

func TestGlobalFlagsSortedAndComplete(t *testing.T) {
	r := &Runsc{
		Binary: "/bin/runsc", Root: "/run/nucleus/runsc", Platform: "ptrace", Network: "sandbox",
		Overlay2: "root:self", DebugLogDir: "/run/nucleus/debug",
		ExtraFlags: []string{"--watchdog-action=panic", "--host-uds=open", "--rootless"},
	}
	got, err := r.globalFlags(map[string]string{"log-fd": "3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--debug=true", "--debug-log=/run/nucleus/debug/", "--host-uds=open", "--log-fd=3",
		"--network=sandbox", "--overlay2=root:self", "--platform=ptrace", "--root=/run/nucleus/runsc",
		"--rootless=true", "--watchdog-action=panic",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("globalFlags:\n got %q\nwant %q", got, want)
	}
	for i := 0; i < 20; i++ { // deterministic despite the map inside
		again, _ := r.globalFlags(map[string]string{"log-fd": "3"})
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("argv changed between calls: %q vs %q", again, got)
		}
	}
}

func TestGlobalFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Runsc
	}{
		{"no binary", Runsc{Root: "/r"}},
		{"no root", Runsc{Binary: "/b"}},
		{"reserved root", Runsc{Binary: "/b", Root: "/r", ExtraFlags: []string{"--root=/tmp"}}},
		{"reserved network", Runsc{Binary: "/b", Root: "/r", ExtraFlags: []string{"--network=host"}}},
		{"reserved log-fd", Runsc{Binary: "/b", Root: "/r", ExtraFlags: []string{"--log-fd=1"}}},
		{"not a flag", Runsc{Binary: "/b", Root: "/r", ExtraFlags: []string{"create"}}},
		{"single dash", Runsc{Binary: "/b", Root: "/r", ExtraFlags: []string{"-debug"}}},
		{"bad name", Runsc{Binary: "/b", Root: "/r", ExtraFlags: []string{"--Bad Name=1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.r.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Validate() = %v, want InvalidArgument", err)
			}
		})
	}
}

func TestVerbArgv(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	f.set("state", "out", `{"ociVersion":"1.2.1","id":"`+testID+`","status":"running","pid":42,"bundle":"/b"}`)
	f.set("list", "out", testID+"\n")
	f.set("wait", "out", `{"id":"`+testID+`","exitStatus":137}`)
	f.set("ps", "out", `[1,7]`)
	for _, tc := range []struct {
		name string
		call func() error
		want []string
	}{
		{"start", func() error { return f.r.Start(ctx, testID) }, []string{"start", testID}},
		{"state", func() error {
			s, err := f.r.State(ctx, testID)
			if err == nil && (s.Status != specs.StateRunning || s.Pid != 42) {
				t.Errorf("state = %+v", s)
			}
			return err
		}, []string{"state", testID}},
		{"list", func() error {
			l, err := f.r.ListIDs(ctx)
			if err == nil && (len(l) != 1 || l[0] != testID) {
				t.Errorf("list = %+v", l)
			}
			return err
		}, []string{"list", "--quiet"}},
		{"wait", func() error {
			code, err := f.r.Wait(ctx, testID)
			if err == nil && code != 137 {
				t.Errorf("wait = %d", code)
			}
			return err
		}, []string{"wait", testID}},
		{"kill init", func() error { return f.r.Kill(ctx, testID, unix.SIGTERM, KillOptions{}) }, []string{"kill", testID, "15"}},
		{"kill all", func() error { return f.r.Kill(ctx, testID, unix.SIGKILL, KillOptions{All: true}) }, []string{"kill", "--all", testID, "9"}},
		{"kill pid", func() error { return f.r.Kill(ctx, testID, unix.SIGUSR1, KillOptions{Pid: 3}) }, []string{"kill", "--pid=3", testID, "10"}},
		{"kill pgid", func() error { return f.r.Kill(ctx, testID, unix.SIGKILL, KillOptions{Pgid: 3}) }, []string{"kill", "--pgid=3", testID, "9"}},
		{"delete", func() error { return f.r.Delete(ctx, testID, false) }, []string{"delete", testID}},
		{"delete force", func() error { return f.r.Delete(ctx, testID, true) }, []string{"delete", "--force", testID}},
		{"pause", func() error { return f.r.Pause(ctx, testID) }, []string{"pause", testID}},
		{"resume", func() error { return f.r.Resume(ctx, testID) }, []string{"resume", testID}},
		{"ps", func() error {
			pids, err := f.r.Ps(ctx, testID)
			if err == nil && !reflect.DeepEqual(pids, []int{1, 7}) {
				t.Errorf("ps = %v", pids)
			}
			return err
		}, []string{"ps", "--format=json", testID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			calls := f.calls()
			argv := calls[len(calls)-1]
			want := append(append([]string{}, defaultGlobal...), tc.want...)
			if tc.name == "create" {
				return
			}
			if !reflect.DeepEqual(argv, want) {
				t.Fatalf("argv:\n got %q\nwant %q", argv, want)
			}
		})
	}
}

func TestErrorCarriesStderrAndKind(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	for _, tc := range []struct {
		stderr string
		kind   error
	}{
		{"FetchSpec failed: loading container: file does not exist", errdefs.ErrNotFound},
		{`creating container: cannot lock container metadata file: container already exists`, errdefs.ErrAlreadyExists},
		{`starting container: cannot start container "x" in state stopped`, errdefs.ErrFailedPrecondition},
		{`unknown signal "FOO"`, errdefs.ErrInvalidArgument},
		{"something new broke", errdefs.ErrInternal},
	} {
		f.set("start", "err", tc.stderr)
		f.set("start", "rc", "128")
		err := f.r.Start(ctx, testID)
		var rerr *Error
		if !errors.As(err, &rerr) {
			t.Fatalf("Start: %v is not a *runsc.Error", err)
		}
		if rerr.ExitCode != 128 || rerr.Stderr != tc.stderr || rerr.Verb != "start" || rerr.ID != testID {
			t.Errorf("error fields = %+v", rerr)
		}
		if got := errdefs.Kind(err); got != tc.kind {
			t.Errorf("%q: kind %v, want %v", tc.stderr, got, tc.kind)
		}
		if !strings.Contains(err.Error(), tc.stderr) {
			t.Errorf("message %q lacks runsc's stderr", err)
		}
	}
}

func TestDeadlineKillsRunsc(t *testing.T) {
	f := newFake(t)
	f.set("state", "sleep", "30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.r.State(ctx, testID)
	if !errors.Is(err, errdefs.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("State = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("State returned after %v", d)
	}
}

func TestMissingBinaryIsUnavailable(t *testing.T) {
	r := &Runsc{Binary: filepath.Join(t.TempDir(), "nope"), Root: "/r"}
	if err := r.Start(context.Background(), testID); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Start = %v, want Unavailable", err)
	}
}

func TestCreatePassesStdioAndReadsLogFD(t *testing.T) {
	f := newFake(t)
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	err = f.r.Create(context.Background(), testID, CreateOptions{Bundle: "/b", PidFile: "/p", Stdout: out, Stderr: out})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create", "--bundle=/b", "--pid-file=/p", testID}
	if got := f.lastVerbArgs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("argv %q, want %q", got, want)
	}
	if calls := f.calls(); !contains(calls[len(calls)-1], "--log-fd=3") {
		t.Fatalf("create without --log-fd: %q", calls[len(calls)-1])
	}
	if data, _ := os.ReadFile(out.Name()); string(data) != "create-stdout\ncreate-stderr\n" {
		t.Fatalf("container stdio got %q", data)
	}

	// A failure's message comes from --log-fd, not from the container's stderr.
	f.set("create", "err", "creating container: cannot read spec")
	f.set("create", "rc", "128")
	err = f.r.Create(context.Background(), testID, CreateOptions{Bundle: "/b", Stderr: out})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stderr != "creating container: cannot read spec" || rerr.ExitCode != 128 {
		t.Fatalf("Create = %#v", err)
	}
	if err := f.r.Create(context.Background(), testID, CreateOptions{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("Create without bundle = %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExecProcessThroughPipe(t *testing.T) {
	f := newFake(t)
	f.set("exec", "rc", "7")
	p := &specs.Process{Args: []string{"/bin/sh", "-c", "true"}, Env: []string{"SECRET=1"}, Cwd: "/w", User: specs.User{UID: 1000, GID: 1000}}
	var stdout, stderr bytes.Buffer
	code, err := f.r.Exec(context.Background(), testID, p, ExecOptions{Stdin: strings.NewReader("input"), Stdout: &stdout, Stderr: &stderr})
	if err != nil || code != 7 {
		t.Fatalf("Exec = %d, %v; want 7, nil", code, err)
	}
	if stdout.String() != "input" || stderr.String() != "to-stderr\n" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	want := []string{"exec", "--process=/proc/self/fd/4", "--internal-pid-file=/proc/self/fd/5", testID}
	if got := f.lastVerbArgs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("argv %q, want %q", got, want)
	}
	var got specs.Process
	data, _ := os.ReadFile(filepath.Join(f.dir, "process.json"))
	if err := json.Unmarshal(data, &got); err != nil || !reflect.DeepEqual(&got, p) {
		t.Fatalf("process.json = %s (%v)", data, err)
	}

	// runsc's own failure (exit 128 with a --log-fd message) is an error,
	// not an exit code of the process.
	f.set("exec", "err", `cannot execute in container "x" in state stopped`)
	f.set("exec", "rc", "128")
	code, err = f.r.Exec(context.Background(), testID, p, ExecOptions{})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || code != -1 {
		t.Fatalf("Exec = %d, %v; want -1, FailedPrecondition", code, err)
	}
}

func TestExecCancelKillsGuestProcessGroup(t *testing.T) {
	f := newFake(t)
	f.set("exec", "hang", "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := f.r.Exec(ctx, testID, &specs.Process{Args: []string{"sleep", "60"}}, ExecOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cancelled Exec took %v", d)
	}
	var kills [][]string
	for _, c := range f.calls() {
		if contains(c, "kill") {
			kills = append(kills, c[len(defaultGlobal):])
		}
	}
	want := [][]string{{"kill", "--pgid=42", testID, "9"}, {"kill", "--pid=42", testID, "9"}}
	if !reflect.DeepEqual(kills, want) {
		t.Fatalf("kills %q, want %q", kills, want)
	}
}

func TestStats(t *testing.T) {
	f := newFake(t)
	f.set("events", "out", `{"type":"stats","id":"`+testID+`","data":{"cpu":{"usage":{"total":679618270}},"memory":{"usage":{"limit":268435456,"usage":2527232,"failcnt":0}},"pids":{"current":2,"limit":100}}}`+"\n")
	s, err := f.r.Stats(context.Background(), testID)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{MemoryUsage: 2527232, MemoryLimit: 268435456, CPUUsageNanos: 679618270, PidsCurrent: 2, PidsLimit: 100}
	if *s != want {
		t.Fatalf("Stats = %+v, want %+v", *s, want)
	}
	if got := f.lastVerbArgs(); !reflect.DeepEqual(got, []string{"events", "--stats", testID}) {
		t.Fatalf("argv %q", got)
	}
	f.set("events", "out", "")
	if _, err := f.r.Stats(context.Background(), testID); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("Stats of a stopped container = %v", err)
	}
}

func TestVersion(t *testing.T) {
	f := newFake(t)
	f.set("version", "out", "runsc version release-20260901.0\nspec: 1.2.1\n")
	v, err := f.r.Version(context.Background())
	if err != nil || v.Version != "release-20260901.0" || v.Spec != "1.2.1" {
		t.Fatalf("Version = %+v, %v", v, err)
	}
	f.set("version", "out", "garbage\n")
	if _, err := f.r.Version(context.Background()); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Version of garbage = %v", err)
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	write := func(path string, mode os.FileMode) string {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	configured := write(filepath.Join(dir, "conf", "runsc"), 0o755)
	self := write(filepath.Join(dir, "bin", "nucleusd"), 0o755)
	beside := write(filepath.Join(dir, "bin", "runsc"), 0o755)
	onPath := write(filepath.Join(dir, "path", "runsc"), 0o755)
	t.Setenv("PATH", filepath.Dir(onPath))

	if got, err := Locate(configured, self); err != nil || got != configured {
		t.Errorf("configured: %q, %v", got, err)
	}
	if got, err := Locate("", self); err != nil || got != beside {
		t.Errorf("beside nucleusd: %q, %v", got, err)
	}
	if got, err := Locate("", filepath.Join(dir, "elsewhere", "nucleusd")); err != nil || got != onPath {
		t.Errorf("PATH: %q, %v", got, err)
	}
	if _, err := Locate(filepath.Join(dir, "missing"), self); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing configured: %v", err)
	}
	writable := write(filepath.Join(dir, "w", "runsc"), 0o777)
	if _, err := Locate(writable, self); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "writable") {
		t.Errorf("world-writable runsc accepted: %v", err)
	}
	notExec := write(filepath.Join(dir, "x", "runsc"), 0o644)
	if _, err := Locate(notExec, self); err == nil {
		t.Errorf("non-executable runsc accepted")
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{
		"9": unix.SIGKILL, "KILL": unix.SIGKILL, "SIGKILL": unix.SIGKILL, "term": unix.SIGTERM,
		"sigusr1": unix.SIGUSR1, "64": unix.Signal(64),
	} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "65", "-1", "FOO", "", "SIG"} {
		if _, err := ParseSignal(in); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParseSignal(%q) = %v, want InvalidArgument", in, err)
		}
	}
}

func TestCreateWithStartRunsDetached(t *testing.T) {
	f := newFake(t)
	if err := f.r.Create(context.Background(), testID, CreateOptions{Bundle: "/b", PidFile: "/p", Start: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"run", "--detach", "--bundle=/b", "--pid-file=/p", testID}
	if got := f.lastVerbArgs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("argv %q, want %q", got, want)
	}
}
