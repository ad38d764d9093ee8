package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"nucleus.dev/nucleus/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestStdinIsTheState(t *testing.T) {
	dir := testutil.HookDir(t)
	out := filepath.Join(dir, "state.json")
	h := writeScript(t, filepath.Join(dir, "h"), `/usr/bin/cat > "$1"`)
	r := newRunner(t, dir, Set{Poststart: []Hook{{Path: h, Args: []string{"h", out}}}})
	st := testState("web-1")
	st.Status = specs.StateRunning
	if errs := r.RunBestEffort(t.Context(), "test", Poststart, st); errs != nil {
		t.Fatalf("RunBestEffort: %v", errs)
	}
	var got specs.State
	if err := json.Unmarshal([]byte(readFile(t, out)), &got); err != nil {
		t.Fatalf("hook's stdin is not JSON: %v", err)
	}
	st.Version = specs.Version
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("state on stdin = %+v, want %+v", got, st)
	}
	raw := map[string]any{}
	_ = json.Unmarshal([]byte(readFile(t, out)), &raw)
	for _, k := range []string{"ociVersion", "id", "status", "pid", "bundle", "annotations"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("state lacks %q: %v", k, raw)
		}
	}
}

// TestEnvIsolation: a hook's env is exactly its configured env, or the
// fixed minimal one; the daemon's env never leaks in.
func TestEnvIsolation(t *testing.T) {
	t.Setenv("NUCLEUS_TEST_SECRET", "hunter2")
	dir := testutil.HookDir(t)
	// /proc/$$/environ is what the kernel handed the hook, before the shell adds anything.
	h := writeScript(t, filepath.Join(dir, "h"), `/usr/bin/tr '\0' '\n' < /proc/$$/environ > "$1"`)
	bare, custom := filepath.Join(dir, "bare"), filepath.Join(dir, "custom")
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{
		{Path: h, Args: []string{"h", bare}},
		{Path: h, Args: []string{"h", custom}, Env: []string{"A=B", "TOKEN=abc=def"}},
	}})
	if err := run(t, r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(readFile(t, bare)); !slices.Equal(got, minimalEnv) {
		t.Errorf("env without config = %q, want %q", got, minimalEnv)
	}
	if got := strings.Fields(readFile(t, custom)); !slices.Equal(got, []string{"A=B", "TOKEN=abc=def"}) {
		t.Errorf("configured env = %q", got)
	}
	for _, f := range []string{bare, custom} {
		if strings.Contains(readFile(t, f), "NUCLEUS_TEST_SECRET") {
			t.Errorf("the daemon's env leaked into the hook: %s", readFile(t, f))
		}
	}
}

// TestConfinement checks from inside a hook: cwd /, NO_NEW_PRIVS, the
// rlimits, its own process group, and which fds it holds.
func TestConfinement(t *testing.T) {
	dir := testutil.HookDir(t)
	out := filepath.Join(dir, "out")
	h := writeScript(t, filepath.Join(dir, "h"), `exec > "$1"
echo "cwd=$(pwd)"
/usr/bin/grep NoNewPrivs /proc/$$/status
echo "nofile=$(ulimit -n)"
/usr/bin/grep -E 'Max (open files|processes)' /proc/$$/limits
read -r stat < /proc/$$/stat
set -- ${stat##*)}
echo "pgid_is_pid=$([ "$3" = "$$" ] && echo yes)"
echo "fds:"
exec /usr/bin/ls /proc/self/fd`)
	// An fd the daemon inherited without O_CLOEXEC (a systemd socket, say).
	stray, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer stray.Close()
	if _, err := unix.FcntlInt(stray.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h, Args: []string{"h", out}}}})
	if err := run(t, r); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, out)
	for _, re := range []string{
		"cwd=/\n",
		"NoNewPrivs:\t1\n",
		"nofile=1024\n",
		`Max processes +1024 +1024 +processes`,
		`Max open files +1024 +1024 +files`,
		"pgid_is_pid=yes\n",
	} {
		if !regexpMatch(re, got) {
			t.Errorf("hook reported %q; want a line matching %q", got, re)
		}
	}
	// What ls, exec'd by the hook, holds: 0-2 stdio, 3 the hook's own
	// O_PATH fd, 4 the directory ls reads; nothing of the daemon's.
	_, fds, _ := strings.Cut(got, "fds:\n")
	if f := strings.Fields(fds); !slices.Equal(f, []string{"0", "1", "2", "3", "4"}) {
		t.Errorf("hook's fds = %v, want [0 1 2 3 4] (stray fd was %d)", f, stray.Fd())
	}
	// The daemon's other children are unaffected by the NO_NEW_PRIVS thread.
	for range 5 {
		b, err := exec.Command("/usr/bin/grep", "NoNewPrivs", "/proc/self/status").Output()
		if err != nil || !strings.Contains(string(b), "NoNewPrivs:\t0") {
			t.Fatalf("a non-hook child of the daemon reported %q (%v)", b, err)
		}
	}
}

// TestELFHookAndArgv0 runs an ELF binary (a copy of dash) and checks that
// args[0] is its argv[0].
func TestELFHookAndArgv0(t *testing.T) {
	dir := testutil.HookDir(t)
	bin, err := os.ReadFile("/usr/bin/dash")
	if err != nil {
		testutil.Unavailable(t, "no /usr/bin/dash to copy: "+err.Error())
	}
	sh := filepath.Join(dir, "sh")
	if err := os.WriteFile(sh, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: sh, Args: []string{"custom-argv0", "-c", `echo "$0" > ` + out}}}})
	if err := run(t, r); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readFile(t, out)); got != "custom-argv0" {
		t.Fatalf("argv[0] = %q", got)
	}
}

func TestExecFailureIsReported(t *testing.T) {
	dir := testutil.HookDir(t)
	p := filepath.Join(dir, "noshebang")
	if err := os.WriteFile(p, []byte("echo hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: p}}})
	err := run(t, r)
	if err == nil || !strings.Contains(err.Error(), "error running createRuntime hook #0 ("+p+"): exec: exec format error") {
		t.Fatalf("Run = %v", err)
	}
}

func TestHookIgnoringStdin(t *testing.T) {
	dir := testutil.HookDir(t)
	h := writeScript(t, filepath.Join(dir, "h"), "/usr/bin/sleep 0.2")
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h}}})
	st := testState("big")
	st.Annotations["big"] = strings.Repeat("x", 1<<20) // far beyond a pipe buffer
	if err := r.Run(t.Context(), "test", CreateRuntime, st); err != nil {
		t.Fatal(err)
	}
}

// TestTimeoutKillsTheGroup: at the timeout the hook and its grandchild die.
func TestTimeoutKillsTheGroup(t *testing.T) {
	dir := testutil.HookDir(t)
	pidFile := filepath.Join(dir, "pid")
	h := writeScript(t, filepath.Join(dir, "h"), `/usr/bin/sleep 100 &
echo $! > "$1"
/usr/bin/sleep 100`)
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h, Args: []string{"h", pidFile}, Timeout: Duration(500 * time.Millisecond)}}})
	began := time.Now()
	err := run(t, r)
	if elapsed := time.Since(began); elapsed > 5*time.Second {
		t.Errorf("Run took %v with a 500ms timeout", elapsed)
	}
	if !errors.Is(err, errdefs.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 500ms; its process group was killed") {
		t.Fatalf("Run = %v, want a DeadlineExceeded timeout", err)
	}
	if grandchild := readPid(t, pidFile); !waitGone(grandchild, 5*time.Second) {
		t.Fatalf("grandchild %d survived the timeout", grandchild)
	}
}

// TestLeftoversAreKilled: what a successful hook leaves in its group dies.
func TestLeftoversAreKilled(t *testing.T) {
	dir := testutil.HookDir(t)
	pidFile := filepath.Join(dir, "pid")
	h := writeScript(t, filepath.Join(dir, "h"), `/usr/bin/sleep 100 > /dev/null 2>&1 &
echo $! > "$1"`)
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h, Args: []string{"h", pidFile}}}})
	if err := run(t, r); err != nil {
		t.Fatal(err)
	}
	if pid := readPid(t, pidFile); !waitGone(pid, 5*time.Second) {
		t.Fatalf("background child %d outlived its hook", pid)
	}
}

// TestEscapedChildCannotHang: a grandchild that left the group (setsid)
// and holds stdout open does not keep Run waiting.
func TestEscapedChildCannotHang(t *testing.T) {
	dir := testutil.HookDir(t)
	pidFile := filepath.Join(dir, "pid")
	// The hook exits only once its child has left the group (the pid file
	// is written after setsid), so the group kill cannot reach the child.
	h := writeScript(t, filepath.Join(dir, "h"), `/usr/bin/setsid /bin/sh -c 'echo $$ > "$1"; exec /usr/bin/sleep 30' sh "$1" &
while [ ! -s "$1" ]; do /usr/bin/sleep 0.01; done`)
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h, Args: []string{"h", pidFile}}}})
	began := time.Now()
	if err := run(t, r); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, pidFile)
	t.Cleanup(func() { _ = syscallKill(pid) })
	if processGone(pid) {
		t.Fatalf("the escaped child %d is gone: the test proves nothing", pid)
	}
	if elapsed := time.Since(began); elapsed > outputGrace+3*time.Second {
		t.Fatalf("Run took %v: it waited on the escaped child's stdout", elapsed)
	}
}

func TestOutputIsBounded(t *testing.T) {
	dir := testutil.HookDir(t)
	h := writeScript(t, filepath.Join(dir, "h"), `/usr/bin/head -c 1048576 /dev/zero | /usr/bin/tr '\0' 'x'
echo "to stderr" >&2
echo THE-END
exit 3`)
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h}}})
	err := run(t, r)
	var herr *HookError
	if !errors.As(err, &herr) {
		t.Fatalf("Run = %v, want a *HookError", err)
	}
	if len(herr.Output) > OutputLimit {
		t.Errorf("output kept %d bytes, limit %d", len(herr.Output), OutputLimit)
	}
	if !strings.HasPrefix(herr.Output, "...x") || !strings.HasSuffix(herr.Output, "to stderr\nTHE-END") {
		t.Errorf("output tail = ...%q", herr.Output[max(0, len(herr.Output)-40):])
	}
	prefix := "error running createRuntime hook #0 (" + h + "): exit status 3: ..."
	if msg := err.Error(); !strings.HasPrefix(msg, prefix) || len(msg) > OutputLimit+len(prefix) {
		t.Errorf("error = %.120q (len %d)", msg, len(msg))
	}
}

// TestStrictVersusBestEffort: the 2nd hook fails; strict stops there,
// best effort runs the 3rd.
func TestStrictVersusBestEffort(t *testing.T) {
	dir := testutil.HookDir(t)
	log := filepath.Join(dir, "log")
	ok := writeScript(t, filepath.Join(dir, "ok"), `echo -n "$2" >> "$1"`)
	bad := writeScript(t, filepath.Join(dir, "bad"), `echo -n "$2" >> "$1"; echo "boom" >&2; exit 7`)
	set := Set{
		CreateRuntime: []Hook{{Path: ok, Args: []string{"ok", log, "0"}}, {Path: bad, Args: []string{"bad", log, "1"}}, {Path: ok, Args: []string{"ok", log, "2"}}},
		Poststop:      []Hook{{Path: ok, Args: []string{"ok", log, "a"}}, {Path: bad, Args: []string{"bad", log, "b"}}, {Path: ok, Args: []string{"ok", log, "c"}}},
	}
	r := newRunner(t, dir, set)
	err := run(t, r)
	if want := "error running createRuntime hook #1 (" + bad + "): exit status 7: boom"; err == nil || err.Error() != want {
		t.Fatalf("Run = %v, want %q", err, want)
	}
	if got := readFile(t, log); got != "01" {
		t.Fatalf("strict run ran %q, want 01", got)
	}
	errs := r.RunBestEffort(t.Context(), "test", Poststop, testState("c1"))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "error running poststop hook #1") {
		t.Fatalf("RunBestEffort = %v", errs)
	}
	if got := readFile(t, log); got != "01abc" {
		t.Fatalf("best effort ran %q, want abc after 01", got)
	}
}

func TestResolveAndSets(t *testing.T) {
	dir := testutil.HookDir(t)
	h := writeScript(t, filepath.Join(dir, "h"), "true")
	r, err := New(Config{DefaultSet: "audit", Sets: map[string]Set{
		"audit": {Poststop: []Hook{{Path: h}}}, "other": {},
	}}, WithTrustedDirs(dir))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"": "audit", "audit": "audit", "other": "other"} {
		if got, err := r.Resolve(name); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := r.Resolve("nope"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Resolve(unknown) = %v, want InvalidArgument", err)
	}
	if err := r.Run(t.Context(), "nope", Poststop, testState("c")); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Run(unknown set) = %v, want InvalidArgument", err)
	}
	if err := r.Run(t.Context(), "audit", "prestart", testState("c")); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Run(unknown phase) = %v, want InvalidArgument", err)
	}
	if err := r.Run(t.Context(), "", Poststop, testState("c")); err != nil {
		t.Errorf(`Run("") = %v, want nil (no hooks)`, err)
	}
	noDefault, err := New(Config{}, WithTrustedDirs(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := noDefault.Resolve(""); got != "" || err != nil {
		t.Errorf(`Resolve("") without default_set = %q, %v`, got, err)
	}
	if r.sets["audit"].Poststop[0].Timeout != Duration(DefaultTimeout) {
		t.Errorf("unset timeout = %v, want %v", r.sets["audit"].Poststop[0].Timeout, DefaultTimeout)
	}
}

func TestContextCancelKillsTheHook(t *testing.T) {
	dir := testutil.HookDir(t)
	h := writeScript(t, filepath.Join(dir, "h"), "/usr/bin/sleep 100")
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h}, {Path: h}}})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := r.Run(ctx, "test", CreateRuntime, testState("c"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 5*time.Second {
		t.Fatalf("Run = %v after %v, want the context's error promptly", err, time.Since(began))
	}
}

func TestConcurrentRuns(t *testing.T) {
	dir := testutil.HookDir(t)
	h := writeScript(t, filepath.Join(dir, "h"), `/usr/bin/cat > /dev/null; echo done`)
	r := newRunner(t, dir, Set{Poststart: []Hook{{Path: h}, {Path: h}}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if errs := r.RunBestEffort(t.Context(), "test", Poststart, testState("c")); errs != nil {
				t.Error(errs)
			}
		})
	}
	wg.Wait()
}

// TestNoLeaks counts goroutines and fds around many runs, failing and not.
func TestNoLeaks(t *testing.T) {
	dir := testutil.HookDir(t)
	ok := writeScript(t, filepath.Join(dir, "ok"), "/usr/bin/cat; echo out; echo err >&2")
	bad := writeScript(t, filepath.Join(dir, "bad"), "/usr/bin/sleep 100 & exit 1")
	slow := writeScript(t, filepath.Join(dir, "slow"), "/usr/bin/sleep 100")
	r := newRunner(t, dir, Set{Poststop: []Hook{{Path: ok}, {Path: bad}, {Path: slow, Timeout: Duration(50 * time.Millisecond)}}})
	r.RunBestEffort(t.Context(), "test", Poststop, testState("warmup"))
	goroutines, fds := settledGoroutines(0), countFDs(t)
	for range 20 {
		if errs := r.RunBestEffort(t.Context(), "test", Poststop, testState("c")); len(errs) != 2 {
			t.Fatalf("RunBestEffort = %v, want 2 failures", errs)
		}
	}
	if got := settledGoroutines(goroutines); got > goroutines {
		t.Errorf("goroutines: %d before, %d after", goroutines, got)
	}
	if got := countFDs(t); got > fds {
		t.Errorf("fds: %d before, %d after", fds, got)
	}
}

// TestLogNamesEnvKeysOnly: env values never reach the log; output does.
func TestLogNamesEnvKeysOnly(t *testing.T) {
	dir := testutil.HookDir(t)
	h := writeScript(t, filepath.Join(dir, "h"), `echo "visible output"; exit 2`)
	core, logs := observer.New(zap.DebugLevel)
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: h, Env: []string{"API_TOKEN=s3cr3t-value"}}}}, WithLogger(zap.New(core)))
	if err := run(t, r); err == nil {
		t.Fatal("Run succeeded")
	}
	entries := logs.All()
	if len(entries) != 1 || entries[0].Message != "hook failed" {
		t.Fatalf("log entries = %+v", entries)
	}
	fields := entries[0].ContextMap()
	dump, _ := json.Marshal(fields)
	if strings.Contains(string(dump), "s3cr3t-value") {
		t.Errorf("an env value was logged: %s", dump)
	}
	for _, want := range []string{`"env_keys":["API_TOKEN"]`, `"output":"visible output"`, `"index":0`, `"phase":"createRuntime"`, `"container":"c1"`} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("log lacks %s: %s", want, dump)
		}
	}
}

func TestRefuseRawHooks(t *testing.T) {
	if err := RefuseRawHooks(nil); err != nil {
		t.Fatal(err)
	}
	if err := RefuseRawHooks(&specs.Hooks{}); err != nil {
		t.Fatal(err)
	}
	err := RefuseRawHooks(&specs.Hooks{Poststop: []specs.Hook{{Path: "/usr/bin/evil"}}})
	if !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("RefuseRawHooks = %v, want PermissionDenied", err)
	}
}
