package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

func running(t *testing.T, c *client.Client, ctx context.Context, script string) *nucleusv1.Container {
	t.Helper()
	ct, err := c.RunDetached(ctx, sh(script))
	if err != nil {
		t.Fatal(err)
	}
	if ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("detached run state %v", ct.GetState())
	}
	return ct
}

func TestE2EKillStopPauseResumeUpdateStats(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 90*time.Second)

	// Kill with a signal the process traps: it exits with its own code.
	ct := running(t, c, ctx, "trap 'exit 42' USR1; while :; do sleep 0.05; done")
	time.Sleep(300 * time.Millisecond)
	if err := c.Kill(ctx, ct.GetId(), 10); err != nil {
		t.Fatal(err)
	}
	if w, err := c.Wait(ctx, ct.GetId()); err != nil || w.GetExit().GetExitCode() != 42 {
		t.Fatalf("after SIGUSR1: %v %v, want exit 42", w, err)
	}
	if err := c.Kill(ctx, ct.GetId(), 9); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("kill of an exited container: %v, want FailedPrecondition", err)
	}

	// Stop: SIGTERM ignored, SIGKILL after the grace period. The stop
	// waits for the trap: a SIGTERM before the shell has set it ends the
	// shell (143), as it would anywhere.
	ct = running(t, c, ctx, "trap '' TERM; touch /tmp/trapped; sleep 30")
	if !waitFor(10*time.Second, func() bool {
		res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: ct.GetId(), Args: []string{"/bin/sh", "-c", "test -e /tmp/trapped"}})
		return err == nil && res.GetExitCode() == 0
	}) {
		t.Fatal("the shell never set its SIGTERM trap")
	}
	begin := time.Now()
	got, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: ct.GetId(), GracePeriod: durationpb.New(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_EXITED || got.GetExit().GetExitCode() != 137 {
		t.Fatalf("stop: %v", got)
	}
	if el := time.Since(begin); el < 500*time.Millisecond || el > 10*time.Second {
		t.Errorf("stop took %v with a 0.5 s grace period", el)
	}
	if _, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: ct.GetId()}); err != nil {
		t.Fatalf("stop of a stopped container: %v", err)
	}

	// Pause, resume, update, stats.
	ct = running(t, c, ctx, "sleep 30")
	p, err := c.Pause(ctx, ct.GetId())
	if err != nil || p.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_PAUSED {
		t.Fatalf("pause: %v %v", p, err)
	}
	if _, err := c.Pause(ctx, ct.GetId()); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("second pause: %v", err)
	}
	if r, err := c.Resume(ctx, ct.GetId()); err != nil || r.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("resume: %v %v", r, err)
	}
	u, err := c.Update(ctx, ct.GetId(), &nucleusv1.Resources{MemoryBytes: 300 << 20, Cpus: 0.5})
	if err != nil || u.GetSpec().GetResources().GetMemoryBytes() != 300<<20 {
		t.Fatalf("update: %v %v", u, err)
	}
	if _, err := c.Update(ctx, ct.GetId(), &nucleusv1.Resources{Pids: 5}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("update pids: %v, want InvalidArgument", err)
	}
	var stats []*nucleusv1.ContainerStats
	if err := c.Stats(ctx, &nucleusv1.StatsRequest{Ids: []string{ct.GetId()}}, func(s []*nucleusv1.ContainerStats) error {
		stats = s
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].GetMemoryUsageBytes() == 0 || stats[0].GetMemoryLimitBytes() != 300<<20 {
		t.Fatalf("stats after update: %v", stats)
	}
	if _, err := c.Delete(ctx, ct.GetId(), false); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("delete of a running container without force: %v", err)
	}
	if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
		t.Fatal(err)
	}
}

func TestE2EExecAndExecSync(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	ct := running(t, c, ctx, "sleep 30")
	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, client.ExecOptions{
		ID: ct.GetName(), Args: []string{"/bin/sh", "-c", "read x; echo got:$x:$FOO; pwd; echo oops >&2; exit 7"},
		Env: []string{"FOO=bar"}, Cwd: "/tmp", Stdin: strings.NewReader("hello\n"), Stdout: &out, Stderr: &errb,
	})
	if err != nil || code != 7 {
		t.Fatalf("exec: code %d, %v", code, err)
	}
	if out.String() != "got:hello:bar\n/tmp\n" || errb.String() != "oops\n" {
		t.Fatalf("exec output %q / %q", out.String(), errb.String())
	}
	res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: ct.GetId(), Args: []string{"/bin/sh", "-c", "head -c 100000 /dev/zero; exit 3"}, MaxOutputBytes: 1000})
	if err != nil || res.GetExitCode() != 3 || len(res.GetStdout()) != 1000 || !res.GetStdoutTruncated() {
		t.Fatalf("execsync: %d bytes truncated=%v code=%d err=%v", len(res.GetStdout()), res.GetStdoutTruncated(), res.GetExitCode(), err)
	}
	begin := time.Now()
	res, err = c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: ct.GetId(), Args: []string{"/bin/sleep", "30"}, Timeout: durationpb.New(time.Second)})
	if err != nil || !res.GetTimedOut() {
		t.Fatalf("execsync timeout: %v %v", res, err)
	}
	if el := time.Since(begin); el > 10*time.Second {
		t.Errorf("timed-out exec took %v", el)
	}
	stopped, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: ct.GetId(), GracePeriod: durationpb.New(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: stopped.GetId(), Args: []string{"/bin/true"}}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("exec in an exited container: %v", err)
	}
	if !strings.Contains(d.Log(), "exec and delete run in nucleusd") {
		t.Error("exec went through runsc processes here: the in-process exec (sandbox/gvisor) was not tested")
	}
}

// TestE2EExecThroughRunscProcesses: when runsc is not the build nucleusd
// links (here a wrapper script), exec runs a runsc process per call, with
// the same results.
func TestE2EExecThroughRunscProcesses(t *testing.T) {
	// Searchable (cliTempDir): nucleusd refuses a runsc the sandbox's
	// unprivileged user namespace root could not start its gofer from.
	wrapper := filepath.Join(cliTempDir(t, "nucleus-runsc-wrapper-"), "runsc")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+testutil.Runsc(t)+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := StartDaemon(t, DaemonOptions{Runsc: wrapper})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	ct := running(t, c, ctx, "sleep 30")
	var out bytes.Buffer
	code, err := c.Exec(ctx, client.ExecOptions{ID: ct.GetId(), Args: []string{"/bin/sh", "-c", "cat; exit 5"}, Stdin: strings.NewReader("via runsc\n"), Stdout: &out})
	if err != nil || code != 5 || out.String() != "via runsc\n" {
		t.Fatalf("exec: code %d err %v out %q", code, err, out.String())
	}
	st, err := c.ExecStatus(ctx, client.ExecOptions{ID: ct.GetId(), Args: []string{"/nope"}})
	if err != nil || st.GetExitCode() != 127 {
		t.Fatalf("missing command: %v %v", st, err)
	}
	if !strings.Contains(d.Log(), "exec and delete run a runsc process per call") {
		t.Errorf("the daemon did not say it falls back to runsc exec; log:\n%s", d.Log())
	}
}

func TestE2ELogsFollowAndRunStdin(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	ct := running(t, c, ctx, "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done; exit 4")
	var got []string
	if err := c.Logs(ctx, &nucleusv1.LogsRequest{Id: ct.GetId(), Follow: true}, func(e *nucleusv1.LogEntry) error {
		got = append(got, string(e.GetContent()))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "line1,line2,line3,line4,line5" {
		t.Fatalf("logs -f = %v", got)
	}
	var tail []string
	_ = c.Logs(ctx, &nucleusv1.LogsRequest{Id: ct.GetId(), Tail: ptr(int64(2))}, func(e *nucleusv1.LogEntry) error {
		tail = append(tail, string(e.GetContent()))
		return nil
	})
	if strings.Join(tail, ",") != "line4,line5" {
		t.Fatalf("logs --tail 2 = %v", tail)
	}
	var out bytes.Buffer
	ex, _, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sh", "-c", "tr a-z A-Z; exit 9"}, AutoRemove: true},
		client.RunOptions{Stdin: strings.NewReader("from stdin\nsecond line\n"), Stdout: &out})
	if err != nil || ex.GetExitCode() != 9 || out.String() != "FROM STDIN\nSECOND LINE\n" {
		t.Fatalf("run -i: %v %q %v", ex, out.String(), err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestE2EEventsResumeAcrossRestart(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	ex, id, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sh", "-c", "exit 6"}}, client.RunOptions{})
	if err != nil || ex.GetExitCode() != 6 {
		t.Fatal(ex, err)
	}
	events := func(c *client.Client, since uint64, n int) []*nucleusv1.Event {
		var out []*nucleusv1.Event
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = c.Events(ectx, &nucleusv1.EventsRequest{SinceSequence: &since}, func(r *nucleusv1.EventsResponse) error {
			out = append(out, r.GetEvent())
			if len(out) == n {
				cancel()
			}
			return nil
		})
		return out
	}
	first := events(c, 0, 3)
	var types []string
	for _, ev := range first {
		types = append(types, ev.GetType().String())
	}
	if strings.Join(types, ",") != "EVENT_TYPE_CREATED,EVENT_TYPE_STARTED,EVENT_TYPE_EXITED" || first[2].GetExitCode() != 6 || first[0].GetContainerId() != id {
		t.Fatalf("events = %v", first)
	}
	last := first[2].GetSequence()
	// Restart, delete the container, and resume after the last seen event.
	d.Stop()
	d.Start()
	c = d.Client()
	if _, err := c.Delete(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	next := events(c, last, 1)
	if len(next) != 1 || next[0].GetType() != nucleusv1.EventType_EVENT_TYPE_DELETED || next[0].GetSequence() <= last {
		t.Fatalf("after restart, events since %d = %v", last, next)
	}
}

func TestE2EVersionInfoHealthReflection(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 30*time.Second)
	v, err := c.Version(ctx)
	if err != nil || v.GetRunscVersion() == "" || v.GetApiVersion() != "nucleus.v1" {
		t.Fatalf("version: %v %v", v, err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.GetPlatform() != "systrap" || info.GetRootDir() != d.Root || info.GetGoroutines() == 0 {
		t.Fatalf("info: %v %v", info, err)
	}
	conn, err := grpc.NewClient("unix://"+d.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, ","), "nucleus.v1.Nucleus") {
		t.Fatalf("reflection lists %v", names)
	}
}

func TestE2EFiftyConcurrentRuns(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 5*time.Minute)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	begin := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			ex, _, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sh", "-c", fmt.Sprintf("echo run%d; exit %d", i, i%5)}, AutoRemove: true},
				client.RunOptions{Stdout: &out})
			switch {
			case err != nil:
				errs[i] = err
			case ex.GetExitCode() != int32(i%5) || out.String() != fmt.Sprintf("run%d\n", i):
				errs[i] = fmt.Errorf("run %d: exit %d output %q", i, ex.GetExitCode(), out.String())
			}
		}()
	}
	wg.Wait()
	t.Logf("50 concurrent runs took %v", time.Since(begin))
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// The host side of auto_remove containers goes in the background,
	// batched: all of it, soon.
	left := waitNoLeftovers(d, 60*time.Second)
	for _, l := range left {
		t.Errorf("left behind after the runs: %s", l)
	}
	t.Logf("host cleanup done %v after the last run", time.Since(begin))
}

// waitNoLeftovers polls the running daemon's leftovers until there are none
// or d passes, and returns the last list.
func waitNoLeftovers(d *Daemon, within time.Duration) []string {
	deadline := time.Now().Add(within)
	for {
		left := d.Leftovers()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EAutoRemoveAnswersFirst: an attached auto_remove run answers with
// the exit status once its record is gone; the name is free at once, the
// DELETED event is published, and the host side follows in the background.
func TestE2EAutoRemoveAnswersFirst(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	// The supervisor is the dedicated executable found next to nucleusd.
	ct := running(t, c, ctx, "sleep 60")
	sups := 0
	for pid, cmdline := range recProcessesMentioning(ct.GetId()) {
		// The supervisor: its working directory is its directory.
		if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); filepath.Base(cwd) == ct.GetId() && strings.Contains(cwd, "supervisors") {
			sups++
			if argv0, _, _ := strings.Cut(cmdline, " "); filepath.Base(argv0) != "nucleus-supervisor" {
				t.Errorf("supervisor runs %q, want nucleus-supervisor", cmdline)
			}
		}
	}
	if sups != 1 {
		t.Errorf("%d supervisors for %s, want 1", sups, ct.GetId())
	}
	if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		ex, id, err := c.Run(ctx, &nucleusv1.ContainerSpec{Name: "again", Args: []string{"/bin/sh", "-c", "exit 4"}, AutoRemove: true}, client.RunOptions{})
		if err != nil || ex.GetExitCode() != 4 {
			t.Fatalf("run %d: %v %v", i, ex, err)
		}
		if _, err := c.Get(ctx, id); !errors.Is(err, errdefs.ErrNotFound) {
			t.Fatalf("run %d: Get after the answer = %v, want NotFound", i, err)
		}
		if _, err := c.Wait(ctx, id); !errors.Is(err, errdefs.ErrNotFound) {
			t.Fatalf("run %d: Wait after the answer = %v, want NotFound", i, err)
		}
	}
	// Its whole output reaches an attached run even though the exit
	// removes the record: the host side (the log) waits for the run.
	var out bytes.Buffer
	ex, _, err := c.Run(ctx, &nucleusv1.ContainerSpec{Name: "big", Args: []string{"/bin/sh", "-c", "seq 1 100000; exit 5"}, AutoRemove: true},
		client.RunOptions{Stdout: &out})
	if err != nil || ex.GetExitCode() != 5 {
		t.Fatalf("big run: %v %v", ex, err)
	}
	var want bytes.Buffer
	for i := 1; i <= 100000; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	if !bytes.Equal(out.Bytes(), want.Bytes()) {
		t.Errorf("big run: %d bytes of output, want %d", out.Len(), want.Len())
	}
	// A detached auto_remove container goes by itself when it exits.
	det, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "detached", Args: []string{"/bin/sh", "-c", "exit 6"}, AutoRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	if w, err := c.Wait(ctx, det.GetId()); err == nil && w.GetExit().GetExitCode() != 6 {
		t.Errorf("detached: Wait = %v, want exit 6 (or NotFound once removed)", w)
	} else if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("detached: Wait = %v", err)
	}
	// Each removal by exit is published with its exit: EXITED, then
	// DELETED with the next sequence number (one commit).
	exited := map[string]uint64{}
	var deleted int
	since := uint64(0)
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = c.Events(ectx, &nucleusv1.EventsRequest{SinceSequence: &since}, func(r *nucleusv1.EventsResponse) error {
		ev := r.GetEvent()
		switch name := ev.GetContainerName(); {
		case name != "again" && name != "big" && name != "detached":
		case ev.GetType() == nucleusv1.EventType_EVENT_TYPE_EXITED:
			exited[ev.GetContainerId()] = ev.GetSequence()
		case ev.GetType() == nucleusv1.EventType_EVENT_TYPE_DELETED:
			if seq, ok := exited[ev.GetContainerId()]; !ok || ev.GetSequence() != seq+1 {
				t.Errorf("%s: DELETED is event %d, EXITED %d (seen: %v); want them adjacent", name, ev.GetSequence(), seq, ok)
			}
			if deleted++; deleted == 5 {
				cancel()
			}
		}
		return nil
	})
	if deleted != 5 {
		t.Errorf("%d DELETED events, want 5", deleted)
	}
	if left := waitNoLeftovers(d, 30*time.Second); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestE2ECancelledStreamsLeakNothing: cancelled Logs, Exec, Events and Run
// streams end their goroutines and fds in the daemon.
func TestE2ECancelledStreamsLeakNothing(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	ct := running(t, c, ctx, "while :; do echo tick; sleep 0.05; done")
	baseline := func() (int, int) {
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(info.GetGoroutines()), int(info.GetOpenFds())
	}
	// Warm up one of each so lazily started goroutines are in the baseline.
	cancelAfter := func(d time.Duration, f func(context.Context)) {
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		f(sctx)
	}
	round := func() {
		cancelAfter(150*time.Millisecond, func(s context.Context) {
			_ = c.Logs(s, &nucleusv1.LogsRequest{Id: ct.GetId(), Follow: true}, func(*nucleusv1.LogEntry) error { return nil })
		})
		cancelAfter(300*time.Millisecond, func(s context.Context) {
			_, _ = c.Exec(s, client.ExecOptions{ID: ct.GetId(), Args: []string{"/bin/sleep", "30"}, Stdin: strings.NewReader("")})
		})
		cancelAfter(100*time.Millisecond, func(s context.Context) {
			_ = c.Events(s, &nucleusv1.EventsRequest{}, func(*nucleusv1.EventsResponse) error { return nil })
		})
	}
	round()
	time.Sleep(500 * time.Millisecond)
	g0, f0 := baseline()
	for range 10 {
		round()
	}
	deadline := time.Now().Add(10 * time.Second)
	var g, f int
	for time.Now().Before(deadline) {
		if g, f = baseline(); g <= g0+2 && f <= f0+2 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("after 10 rounds of cancelled streams: goroutines %d → %d, fds %d → %d", g0, g, f0, f)
}

// TestE2ECommandNotFound: a command that does not exist ends like in a
// shell, with exit code 127, and leaves nothing behind.
func TestE2ECommandNotFound(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	ex, _, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/no/such/binary"}}, client.RunOptions{})
	if err != nil || ex.GetExitCode() != 127 || ex.GetReason() != "not-found" || !strings.Contains(ex.GetMessage(), "/no/such/binary") {
		t.Fatalf("run of a missing command: %v %v, want exit 127 not-found", ex, err)
	}
	if list, _ := c.List(ctx, nil); len(list) != 0 {
		t.Fatalf("the failed run left containers: %v", list)
	}
	if _, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Args: []string{"nope-not-here"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("detached run of a missing command: %v, want InvalidArgument", err)
	}
	ct := running(t, c, ctx, "sleep 30")
	st, err := c.ExecStatus(ctx, client.ExecOptions{ID: ct.GetId(), Args: []string{"nope-not-here"}})
	if err != nil || st.GetExitCode() != 127 {
		t.Fatalf("exec of a missing command: %v %v, want 127", st, err)
	}
	res, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: ct.GetId(), Args: []string{"/nope"}})
	if err != nil || res.GetExitCode() != 127 || len(res.GetStderr()) == 0 {
		t.Fatalf("execsync of a missing command: %v %v, want 127 with a message", res, err)
	}
}

// TestE2ETimeoutAndLimits: the max runtime kills a container near its
// deadline; the container caps answer ResourceExhausted; bad input is
// InvalidArgument and changes nothing.
func TestE2ETimeoutAndLimits(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[limits]\nmax_containers = 3\nmax_containers_per_uid = 2\n"})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	spec := sh("sleep 60")
	spec.Timeout = durationpb.New(time.Second)
	begin := time.Now()
	ex, _, err := c.Run(ctx, spec, client.RunOptions{})
	if err != nil || ex.GetReason() != "timeout" || ex.GetExitCode() != 137 {
		t.Fatalf("run with a 1 s timeout: %v %v", ex, err)
	}
	if el := time.Since(begin); el > 6*time.Second {
		t.Errorf("a 1 s timeout took %v", el)
	}
	if _, err := c.Create(ctx, sh("true")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, sh("true")); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("third container of one uid with max_containers_per_uid = 2: %v, want ResourceExhausted", err)
	}
	for _, bad := range []*nucleusv1.ContainerSpec{
		{}, // no args
		{Args: []string{"/bin/true"}, Name: "../etc"},
		{Args: []string{"/bin/true"}, Network: "bridge"},
		{Args: []string{"/bin/true"}, Network: "host"}, // not in allowed_networks
		{Args: []string{"/bin/true"}, Cwd: "/proc/self/fd/3"},
		{Args: []string{"/bin/true"}, Volumes: []*nucleusv1.Volume{{Type: nucleusv1.VolumeType_VOLUME_TYPE_TMPFS, Destination: "/proc/x"}}},
		{Args: []string{"/bin/true"}, Resources: &nucleusv1.Resources{MemoryBytes: 1 << 20}},
	} {
		_, err := c.Create(ctx, bad)
		if !errors.Is(err, errdefs.ErrInvalidArgument) && !errors.Is(err, errdefs.ErrPermissionDenied) {
			t.Errorf("create %v: %v, want InvalidArgument or PermissionDenied", bad, err)
		}
	}
	if list, _ := c.List(ctx, nil); len(list) != 2 {
		t.Fatalf("refused creates changed the records: %d containers", len(list))
	}
}

// TestE2ENetworkModes: none and sandbox both give the sandbox a working
// loopback (sandbox through a namespace the daemon prepares) and no other
// interface; delete removes the prepared namespace.
func TestE2ENetworkModes(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	for _, mode := range []string{"none", "sandbox"} {
		var out bytes.Buffer
		spec := sh("cat /proc/net/dev")
		spec.Network, spec.AutoRemove = mode, true
		ex, id, err := c.Run(ctx, spec, client.RunOptions{Stdout: &out})
		if err != nil || ex.GetExitCode() != 0 {
			t.Fatalf("network %s: %v %v", mode, ex, err)
		}
		var ifaces []string
		for _, line := range strings.Split(out.String(), "\n")[2:] {
			if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
				ifaces = append(ifaces, name)
			}
		}
		if strings.Join(ifaces, ",") != "lo" {
			t.Errorf("network %s: interfaces %v, want only lo", mode, ifaces)
		}
		waitGone(t, c, id)
	}
}

// TestE2ESpareSupervisor: after a create the daemon keeps one supervisor
// started ahead of need, named after its supervisors directory; the next
// create uses it; it ends with the daemon, SIGKILLed or stopped, and never
// becomes a leftover.
func TestE2ESpareSupervisor(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	ctx := ctxT(t, 2*time.Minute)
	spare := func() int {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			for pid, cmdline := range recProcessesMentioning(filepath.Join(d.State, "supervisors")) {
				if isSpareSupervisor(cmdline) {
					return pid
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no spare supervisor after a create")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for round, stop := range []func(){d.Kill9, d.Stop} {
		c := d.Client()
		// A container that keeps its supervisor busy: one that ended would
		// leave its supervisor free for reuse, and a free supervisor is
		// taken before the spare (TestE2ESupervisorReuse).
		first := running(t, c, ctx, "sleep 60")
		pid := spare()
		ct := running(t, c, ctx, "sleep 60")
		if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != filepath.Join(d.State, "supervisors", ct.GetId()) {
			t.Errorf("round %d: the spare %d did not serve the next create (cwd %q)", round, pid, cwd)
		}
		next := spare()
		stop()
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(next, 0) == nil && !isZombie(next) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the spare supervisor %d outlived the daemon", round, next)
			}
			time.Sleep(10 * time.Millisecond)
		}
		d.Start()
		for _, id := range []string{first.GetId(), ct.GetId()} {
			if _, err := d.Client().Delete(ctx, id, true); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || strings.Contains(string(b), ") Z ")
}
