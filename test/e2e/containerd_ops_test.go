package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/ttrpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
)

// callShim calls the task service of task id's shim directly, at the
// address containerd keeps in the task's bundle.
func callShim(t *testing.T, c *containerd, id string, call func(context.Context, taskapi.TaskService) error) {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(c.state, "io.containerd.runtime.v2.task", "nucleustest", id, "address"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", strings.TrimPrefix(string(addr), "unix://"))
	if err != nil {
		t.Fatal(err)
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := call(ctx, taskapi.NewTaskClient(cl)); err != nil {
		t.Fatal(err)
	}
}

// TestE2EContainerdTaskOps: ctr task exec (its own stdio, stdin and exit
// code), pause/resume (state PAUSED, then RUNNING), Update (nucleusd's
// limits change), metrics (memory > 0) and kill --all (the exit status is
// the signal's) on a task run through the shim.
func TestE2EContainerdTaskOps(t *testing.T) {
	d, c := startShimStack(t)
	c.importImage()
	c.ctrOK("run", "-d", "--runtime", shimRuntime, ctrImage, "ops", "sleep", "120")

	out, errOut, code := c.ctr("", "task", "exec", "--exec-id", "e1", "ops", "sh", "-c", "echo in-exec; echo err-exec >&2; exit 5")
	if code != 5 || out != "in-exec\n" || !strings.Contains(errOut, "err-exec") {
		t.Fatalf("ctr task exec: exit %d, stdout %q, stderr %q (want 5, in-exec, err-exec)", code, out, errOut)
	}
	out, _, code = c.ctr("piped\n", "task", "exec", "--exec-id", "e2", "ops", "cat")
	if code != 0 || out != "piped\n" {
		t.Fatalf("ctr task exec cat: exit %d, stdout %q (want the stdin back)", code, out)
	}

	c.ctrOK("task", "pause", "ops")
	if st := taskStatus(t, c, "ops"); st != "PAUSED" {
		t.Fatalf("after pause: %s, want PAUSED", st)
	}
	c.ctrOK("task", "resume", "ops")
	if st := taskStatus(t, c, "ops"); st != "RUNNING" {
		t.Fatalf("after resume: %s, want RUNNING", st)
	}

	// Update (ctr 1.6 has no command for it: the task API directly, as
	// containerd calls it): memory and CPU quota reach nucleusd.
	mem, quota, period := int64(128<<20), int64(50000), uint64(100000)
	res, _ := json.Marshal(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}, CPU: &specs.LinuxCPU{Quota: &quota, Period: &period}})
	callShim(t, c, "ops", func(ctx context.Context, task taskapi.TaskService) error {
		_, err := task.Update(ctx, &taskapi.UpdateTaskRequest{ID: "ops", Resources: &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", Value: res}})
		return err
	})
	ctr, err := d.Client().Get(context.Background(), "nucleustest.ops")
	if err != nil {
		t.Fatal(err)
	}
	if r := ctr.GetSpec().GetResources(); r.GetMemoryBytes() != 128<<20 || r.GetCpus() != 0.5 {
		t.Fatalf("after ctr task update: resources %v, want 128 MiB and 0.5 CPUs", r)
	}

	metrics := c.ctrOK("task", "metrics", "ops")
	if !metricPositive(metrics, "memory.usage_in_bytes") {
		t.Fatalf("ctr task metrics shows no memory use:\n%s", metrics)
	}

	c.ctrOK("task", "kill", "--all", "-s", "SIGTERM", "ops")
	waitTaskStopped(t, c, "ops")
	if code := taskExitCode(t, c, "ops"); code != 128+15 {
		t.Fatalf("exit status after SIGTERM: %d, want %d", code, 128+15)
	}
	c.ctrOK("c", "rm", "ops")
}

// taskStatus is the STATUS column of ctr task ls for id.
func taskStatus(t *testing.T, c *containerd, id string) string {
	t.Helper()
	out := c.ctrOK("task", "ls")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == id {
			return f[2]
		}
	}
	t.Fatalf("task %s not in ctr task ls:\n%s", id, out)
	return ""
}

// metricPositive reports whether ctr task metrics' table has key with a
// value above zero.
func metricPositive(out, key string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == key && f[1] != "0" {
			return true
		}
	}
	return false
}
