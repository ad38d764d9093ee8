package e2e

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

func sh(script string) *nucleusv1.ContainerSpec {
	return &nucleusv1.ContainerSpec{Args: []string{"/bin/sh", "-c", script}}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestE2ERunAttachedExitCodesAndOutput(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	for _, want := range []int32{0, 1, 7} {
		var out, errb bytes.Buffer
		spec := sh("echo out-line; echo err-line >&2; exit " + itoa(want))
		spec.AutoRemove = true
		ex, id, err := c.Run(ctx, spec, client.RunOptions{Stdout: &out, Stderr: &errb})
		if err != nil {
			t.Fatalf("run exit %d: %v", want, err)
		}
		if ex.GetExitCode() != want {
			t.Errorf("exit code = %d, want %d (%v)", ex.GetExitCode(), want, ex)
		}
		if out.String() != "out-line\n" || errb.String() != "err-line\n" {
			t.Errorf("stdout %q stderr %q", out.String(), errb.String())
		}
		waitGone(t, c, id)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// waitGone waits until an auto_remove container is gone.
func waitGone(t *testing.T, c *client.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, err := c.Get(context.Background(), id)
		if errors.Is(err, errdefs.ErrNotFound) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("container %s still exists after auto_remove", id)
}

func TestE2ECreateStartWaitLogsDelete(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	spec := sh("echo hello; sleep 0.2; echo bye >&2; exit 3")
	spec.Name = "lifecycle"
	spec.Labels = map[string]string{"team": "a"}
	spec.Env = []string{"GREETING=hello"}
	ct, err := c.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_CREATED || ct.GetName() != "lifecycle" || len(ct.GetId()) != 32 {
		t.Fatalf("created: %v", ct)
	}
	if _, err := c.Create(ctx, spec); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create with the same name: %v, want AlreadyExists", err)
	}
	if byPrefix, err := c.Get(ctx, ct.GetId()[:12]); err != nil || byPrefix.GetId() != ct.GetId() {
		t.Fatalf("get by a 12-character id prefix: %v %v", byPrefix, err)
	}
	if _, err := c.Get(ctx, "ab"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get by a 2-character prefix: %v, want NotFound", err)
	}
	if _, err := c.Start(ctx, "lifecycle"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, "lifecycle"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("second start: %v, want FailedPrecondition", err)
	}
	w, err := c.Wait(ctx, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	if w.GetExit().GetExitCode() != 3 || w.GetExit().GetReason() != "exited" {
		t.Fatalf("wait: %v", w)
	}
	got, err := c.Get(ctx, ct.GetId())
	if err != nil || got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_EXITED || got.GetExit().GetExitCode() != 3 {
		t.Fatalf("get after exit: %v %v", got, err)
	}
	var lines []string
	err = c.Logs(ctx, &nucleusv1.LogsRequest{Id: "lifecycle", Timestamps: true}, func(e *nucleusv1.LogEntry) error {
		lines = append(lines, e.GetStream().String()+":"+string(e.GetContent()))
		if e.GetTime() == nil {
			t.Error("timestamps requested but missing")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(lines, ",") != "LOG_STREAM_STDOUT:hello,LOG_STREAM_STDERR:bye" {
		t.Fatalf("logs = %v", lines)
	}
	list, err := c.List(ctx, &nucleusv1.ListRequest{Labels: []string{"team=a"}})
	if err != nil || len(list) != 1 {
		t.Fatalf("list by label: %v %v", list, err)
	}
	if list, _ := c.List(ctx, &nucleusv1.ListRequest{Labels: []string{"team=b"}}); len(list) != 0 {
		t.Fatalf("list by other label: %v", list)
	}
	// The summary view: what ps shows, and of the spec only the args.
	sum, err := c.List(ctx, &nucleusv1.ListRequest{Labels: []string{"team=a"}, View: nucleusv1.ListView_LIST_VIEW_SUMMARY})
	if err != nil || len(sum) != 1 {
		t.Fatalf("summary list: %v %v", sum, err)
	}
	s, full := sum[0], list[0]
	if full.GetBundle() == "" || full.GetRunscVersion() == "" || len(full.GetSpec().GetEnv()) == 0 {
		t.Fatalf("the full view lacks bundle, runsc version or env: %v", full)
	}
	if s.GetId() != full.GetId() || s.GetName() != "lifecycle" || s.GetState() != full.GetState() ||
		s.GetExit().GetExitCode() != 3 || s.GetLabels()["team"] != "a" || !proto.Equal(s.GetCreatedAt(), full.GetCreatedAt()) ||
		!proto.Equal(s.GetFinishedAt(), full.GetFinishedAt()) || !slices.Equal(s.GetSpec().GetArgs(), full.GetSpec().GetArgs()) {
		t.Fatalf("summary %v does not match the full record %v", s, full)
	}
	if s.GetBundle() != "" || s.GetRunscVersion() != "" || len(s.GetSpec().GetEnv()) != 0 || s.GetSpec().GetTimeout() != nil {
		t.Fatalf("the summary carries more than a listing needs: %v", s)
	}
	if _, err := c.List(ctx, &nucleusv1.ListRequest{View: 7}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("list with an unknown view: %v, want InvalidArgument", err)
	}
	if _, err := c.Delete(ctx, "lifecycle", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "lifecycle"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

// TestE2ESigtermLeavesContainersRunning: a graceful stop of the daemon
// never touches running containers; the next daemon adopts them.
func TestE2ESigtermLeavesContainersRunning(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	ct, err := c.RunDetached(ctx, sh("echo before; sleep 30"))
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	if err := syscall.Kill(int(ct.GetPid()), 0); err != nil {
		t.Fatalf("sandbox pid %d gone after SIGTERM to nucleusd: %v", ct.GetPid(), err)
	}
	d.Start()
	c = d.Client()
	got, err := c.Get(ctx, ct.GetId())
	if err != nil || got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING || got.GetPid() != ct.GetPid() {
		t.Fatalf("after restart: %v %v", got, err)
	}
	if _, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: ct.GetId(), GracePeriod: durationpb.New(time.Second)}); err != nil {
		t.Fatal(err)
	}
	var lines []string
	_ = c.Logs(ctx, &nucleusv1.LogsRequest{Id: ct.GetId()}, func(e *nucleusv1.LogEntry) error {
		lines = append(lines, string(e.GetContent()))
		return nil
	})
	if len(lines) == 0 || lines[0] != "before" {
		t.Fatalf("logs after adoption: %v", lines)
	}
}
