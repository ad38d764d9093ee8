package gvisor_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/sandbox/gvisor"
	"nucleus.dev/nucleus/sandbox/internal/testbundle"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// sandboxFor starts a runsc sandbox running "sleep 60" and returns the
// driver that started it and the container id.
func sandboxFor(t *testing.T) (*runsc.Runsc, string) {
	t.Helper()
	bin := testutil.Runsc(t)
	dir, err := os.MkdirTemp("/tmp", "gv")
	if err != nil {
		t.Fatal(err)
	}
	r := &runsc.Runsc{Binary: bin, Root: filepath.Join(dir, "runsc"), Network: "none"}
	const id = "0123456789abcdef0123456789abcdef"
	bundle := filepath.Join(dir, "bundle")
	if err := testbundle.Write(bundle, testbundle.Options{Args: []string{"/bin/sleep", "60"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Create(ctx, id, runsc.CreateOptions{Bundle: bundle, PidFile: filepath.Join(dir, "pid")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Delete(context.Background(), id, true)
		// runsc's shared empty network namespace lives in its root.
		_ = syscall.Unmount(filepath.Join(r.Root, "null-netns"), syscall.MNT_DETACH)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("cleaning up: %v", err)
		}
	})
	if err := r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	return r, id
}

// clientFor opens the in-process client for r's runsc root.
func clientFor(t *testing.T, r *runsc.Runsc) *gvisor.Client {
	t.Helper()
	flags, err := r.GlobalFlags()
	if err != nil {
		t.Fatal(err)
	}
	c, err := gvisor.Open(r.Binary, flags)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestE2EExec(t *testing.T) {
	r, id := sandboxFor(t)
	c := clientFor(t, r)
	proc := func(args ...string) *specs.Process {
		return &specs.Process{Args: args, Env: []string{"PATH=/bin:/usr/bin", "X=from-exec"}, Cwd: "/"}
	}
	ctx := context.Background()

	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, id, proc("/bin/sh", "-c", "echo out $X; echo err >&2; exit 3"), nil, &out, &errb)
	if err != nil || code != 3 || out.String() != "out from-exec\n" || errb.String() != "err\n" {
		t.Fatalf("exec: code %d err %v stdout %q stderr %q", code, err, out.String(), errb.String())
	}

	out.Reset()
	if code, err := c.Exec(ctx, id, proc("/bin/cat"), strings.NewReader("hello\n"), &out, nil); err != nil || code != 0 || out.String() != "hello\n" {
		t.Fatalf("stdin: code %d err %v stdout %q", code, err, out.String())
	}

	if code, err := c.Exec(ctx, id, proc("/bin/sh", "-c", "kill -TERM $$"), nil, nil, nil); err != nil || code != 143 {
		t.Fatalf("signalled: code %d err %v, want 143", code, err)
	}

	_, err = c.Exec(ctx, id, proc("/nonexistent"), nil, nil, nil)
	if runsc.CommandFailure(err) != runsc.ExitNotFound {
		t.Fatalf("missing command: %v (CommandFailure %d), want %d", err, runsc.CommandFailure(err), runsc.ExitNotFound)
	}

	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	code, err = c.Exec(cctx, id, proc("/bin/sh", "-c", "sleep 60 & sleep 60"), nil, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) || code != 137 || time.Since(begin) > 10*time.Second {
		t.Fatalf("cancelled: code %d err %v after %v, want 137 and the deadline soon after 300ms", code, err, time.Since(begin))
	}

	if _, err := c.Exec(ctx, "ffffffffffffffffffffffffffffffff", proc("/bin/true"), nil, nil, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("unknown container: %v, want NotFound", err)
	}

	// The point of it: an exec without a runsc process.
	timeIt := func(f func() error) time.Duration {
		best := time.Hour
		for range 5 {
			begin := time.Now()
			if err := f(); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(begin))
		}
		return best
	}
	direct := timeIt(func() error { _, err := c.Exec(ctx, id, proc("/bin/true"), nil, nil, nil); return err })
	viaRunsc := timeIt(func() error {
		_, err := r.Exec(ctx, id, proc("/bin/true"), runsc.ExecOptions{})
		return err
	})
	t.Logf("exec /bin/true, best of 5: in process %v, runsc exec %v", direct, viaRunsc)
	if direct >= viaRunsc {
		t.Errorf("the in-process exec (%v) is not faster than runsc exec (%v)", direct, viaRunsc)
	}

	// Delete: like runsc delete --force, sandbox included; twice is fine.
	data, err := os.ReadFile(filepath.Join(filepath.Dir(r.Root), "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("sandbox pid %q is not running before the delete", data)
	}
	begin = time.Now()
	if err := c.Delete(id); err != nil {
		t.Fatal(err)
	}
	t.Logf("in-process delete of a running sandbox: %v", time.Since(begin))
	if r.HasState(id) {
		t.Error("runsc state left after Delete")
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Errorf("the sandbox (pid %d) outlived Delete", pid)
	}
	if err := c.Delete(id); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if ids, err := r.ListIDs(ctx); err != nil || len(ids) != 0 {
		t.Errorf("runsc list after Delete: %v %v", ids, err)
	}
}

func TestOpenRefusesAnotherBuild(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// This test binary is no runsc build: its main module is not gVisor.
	if _, err := gvisor.Open(self, []string{"--root=/tmp/x"}); !errors.Is(err, gvisor.ErrOtherVersion) {
		t.Fatalf("Open(test binary) = %v, want ErrOtherVersion", err)
	}
	if _, err := gvisor.Open("/nonexistent", nil); err == nil {
		t.Fatal("Open of a missing binary succeeded")
	}
}
