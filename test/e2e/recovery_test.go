package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

const (
	recCreated = nucleusv1.ContainerState_CONTAINER_STATE_CREATED
	recRunning = nucleusv1.ContainerState_CONTAINER_STATE_RUNNING
	recExited  = nucleusv1.ContainerState_CONTAINER_STATE_EXITED
)

// Row 16: nucleusd is SIGKILLed while 20 creates (or detached runs) are in
// flight, at five different points. After the restart every container is
// either fully there (created, usable, deletable) or fully gone (no record,
// directory, supervisor, runsc state, cgroup, mount or process), and every
// create that was acknowledged before the kill survived.
func TestE2ERecoveryKill9DuringConcurrentCreates(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	// Concurrent `runsc create`s may each bind-mount runsc's shared null
	// network namespace onto the same path (runsc does not serialise its
	// creation and unmounts it in a loop, see specutils.UnmountNullNetNS);
	// the harness unmounts it once, so release the stacked copies here
	// (cleanups run last-in first-out: this one before the harness's).
	t.Cleanup(func() { unmountNullNetNS(d) })
	const n = 20
	rounds := []struct {
		name     string
		returned int           // kill once this many creates succeeded...
		delay    time.Duration // ...or this long after firing, whichever is first
		run      bool          // detached Run (create + start) instead of Create
	}{
		{"early", n, 300 * time.Millisecond, false},
		{"after-3-returned", 3, time.Minute, false},
		{"after-10-returned", 10, time.Minute, false},
		{"random-delay", n, time.Duration(500+rand.IntN(4500)) * time.Millisecond, false},
		{"run-after-5-returned", 5, time.Minute, true},
	}
	for r, round := range rounds {
		t.Run(round.name, func(t *testing.T) {
			c := d.Client()
			type result struct {
				i   int
				ct  *nucleusv1.Container
				err error
			}
			results := make(chan result, n)
			fired := time.Now()
			for i := range n {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					spec := &nucleusv1.ContainerSpec{Name: fmt.Sprintf("r%d-c%02d", r, i), Args: []string{"/bin/sleep", "30"}}
					var ct *nucleusv1.Container
					var err error
					if round.run {
						ct, err = c.RunDetached(ctx, spec)
					} else {
						ct, err = c.Create(ctx, spec)
					}
					results <- result{i, ct, err}
				}()
			}
			acked := map[int]*nucleusv1.Container{} // succeeded before the kill
			got := 0
			timer := time.NewTimer(round.delay)
		wait:
			for len(acked) < round.returned && got < n {
				select {
				case res := <-results:
					got++
					if res.err != nil {
						t.Errorf("create %d failed before the kill: %v", res.i, res.err)
					} else {
						acked[res.i] = res.ct
					}
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
			d.Kill9()
			killedAt := time.Since(fired)
			// The rest fail (the daemon is gone) or, rarely, were answered
			// as the kill landed: those must survive too.
			for got < n {
				res := <-results
				got++
				if res.err == nil {
					acked[res.i] = res.ct
				}
			}
			t.Logf("killed %v after firing (kill point: %d acknowledged or %v), %d creates acknowledged, %d in flight", killedAt.Round(time.Millisecond), round.returned, round.delay, len(acked), n-len(acked))

			took := restartWithin(t, d, 2*time.Minute)
			t.Logf("restart took %v", took.Round(time.Millisecond))
			if took > time.Minute {
				t.Errorf("nucleusd answered only %v after its restart: recovering %d interrupted creates must not block it that long", took.Round(time.Millisecond), n-len(acked))
			}
			c = d.Client()
			ctx := ctxT(t, 3*time.Minute)

			// Interrupted creates show as creating while the restarted
			// daemon undoes them in the background; wait for that.
			list, err := c.List(ctx, &nucleusv1.ListRequest{States: []nucleusv1.ContainerState{nucleusv1.ContainerState_CONTAINER_STATE_CREATING}})
			for err == nil && len(list) > 0 && ctx.Err() == nil {
				time.Sleep(200 * time.Millisecond)
				list, err = c.List(ctx, &nucleusv1.ListRequest{States: []nucleusv1.ContainerState{nucleusv1.ContainerState_CONTAINER_STATE_CREATING}})
			}
			if err != nil {
				t.Fatal(err)
			}
			list, err = c.List(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			known := map[string]bool{}
			for _, ct := range list {
				known[ct.GetId()] = true
				if s := ct.GetState(); s != recCreated && s != recRunning {
					t.Errorf("container %s (%s) is %v after recovery, want created or running (or gone)", ct.GetName(), ct.GetId(), s)
				}
				if !strings.HasPrefix(ct.GetName(), fmt.Sprintf("r%d-", r)) {
					t.Errorf("unexpected container %s (%s) listed", ct.GetName(), ct.GetId())
				}
			}
			for i, a := range acked {
				if !known[a.GetId()] {
					t.Errorf("create %d (%s) was acknowledged before the kill but its container is gone after the restart", i, a.GetId())
				}
				if round.run {
					if g, err := c.Get(ctx, a.GetId()); err == nil && g.GetState() != recRunning {
						t.Errorf("run %d (%s) was acknowledged as started before the kill but is %v after the restart", i, a.GetId(), g.GetState())
					}
				}
			}
			if stray := waitOnlyKnown(d, known, 15*time.Second); len(stray) > 0 {
				t.Errorf("after recovery, things of containers without a record are left:%s", recDescribe(stray))
			}
			for i := range n {
				name := fmt.Sprintf("r%d-c%02d", r, i)
				if _, err := c.Get(ctx, name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
					t.Errorf("get %s: %v", name, err)
				}
			}
			t.Logf("after recovery: %d of %d containers are there, %d gone", len(list), n, n-len(list))

			// Every survivor is usable: logs, start, stop, delete, and then
			// it is fully gone too.
			var wg sync.WaitGroup
			sem := make(chan struct{}, 4)
			for _, ct := range list {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					id := ct.GetId()
					if _, err := recStdoutLines(ctx, c, id); err != nil {
						t.Errorf("logs of %s (%s): %v", ct.GetName(), id, err)
					}
					if ct.GetState() == recCreated {
						if _, err := c.Start(ctx, id); err != nil {
							t.Errorf("start %s (%s) after recovery: %v", ct.GetName(), id, err)
						}
					}
					st, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: id, GracePeriod: durationpb.New(time.Second)})
					if err != nil {
						t.Errorf("stop %s (%s) after recovery: %v", ct.GetName(), id, err)
					} else if st.GetState() != recExited {
						t.Errorf("stop %s (%s): state %v, want exited", ct.GetName(), id, st.GetState())
					}
					if _, err := c.Delete(ctx, id, true); err != nil {
						t.Errorf("delete %s (%s) after recovery: %v", ct.GetName(), id, err)
					}
				}()
			}
			wg.Wait()
			for _, ct := range list {
				recAssertGone(t, d, c, ct.GetId(), "deleted "+ct.GetName(), 15*time.Second)
			}
			if left := waitOnlyKnown(d, nil, 15*time.Second); len(left) > 0 {
				t.Errorf("after deleting every container, left behind:%s", recDescribe(left))
			}
		})
	}
}

// Row 16 step by step: one create in flight, nucleusd SIGKILLed once the
// create reaches a given point, observed on disk (the bundle is written;
// the supervisor is running `runsc create`; the supervisor has answered).
// The restarted daemon must answer within 10 s, and the container must be
// either fully gone or created and usable.
func TestE2ERecoveryKill9AtEachCreateStep(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	points := []struct {
		name    string
		reached func(id string) bool
	}{
		{"bundle-written", func(id string) bool {
			return recExists(filepath.Join(d.Root, "containers", id, "meta.json")) && !recExists(filepath.Join(d.State, "supervisors", id))
		}},
		{"in-runsc-create", func(id string) bool {
			sup := filepath.Join(d.State, "supervisors", id)
			return recExists(filepath.Join(sup, "supervisor.pid")) && !recExists(filepath.Join(sup, "supervisor.sock"))
		}},
		{"supervisor-answering", func(id string) bool {
			return recExists(filepath.Join(d.State, "supervisors", id, "supervisor.sock"))
		}},
		// A slow create (a loaded host: 20 concurrent creates take 5-10 s
		// each on 2 cores), made deterministic by stopping it (the
		// supervisor creating in process, and runsc's processes) until
		// the daemon has restarted.
		{"in-slow-runsc-create", func(id string) bool {
			sup := filepath.Join(d.State, "supervisors", id)
			return recExists(filepath.Join(sup, "supervisor.pid")) && !recExists(filepath.Join(sup, "supervisor.sock"))
		}},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			c := d.Client()
			name := "step-" + p.name
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				_, err := c.Create(ctx, &nucleusv1.ContainerSpec{Name: name, Args: []string{"/bin/sleep", "30"}})
				done <- err
			}()
			hit, finished := false, false
			var err error
			var id string
			deadline := time.Now().Add(time.Minute)
		poll:
			for time.Now().Before(deadline) {
				entries, _ := os.ReadDir(filepath.Join(d.Root, "containers"))
				for _, e := range entries {
					if p.reached(e.Name()) {
						hit, id = true, e.Name()
						break poll
					}
				}
				select {
				case err = <-done:
					finished = true
					break poll // finished before the point was seen
				default:
				}
				time.Sleep(time.Millisecond)
			}
			var stopped []int
			if p.name == "in-slow-runsc-create" && hit {
				stopped = stopCreateOf(d, id)
				t.Logf("stopped %d processes of the create (supervisor, runsc)", len(stopped))
				if len(stopped) == 0 {
					t.Log("the create finished before it could be stopped; this run tests a fast create")
				}
			}
			d.Kill9()
			logStart := len(d.Log())
			if !finished {
				err = <-done
			}
			rec := recordAfterKill(t, d, name)
			step := "no record"
			if rec != nil {
				step = "step " + string(rec.CreateStep)
			}
			t.Logf("point reached: %v; create returned %v; at the kill the store held %s", hit, err, step)

			if len(stopped) > 0 {
				// runsc resumes 8 s into the restart, as a create slowed
				// down by load finishes (20 concurrent creates take 5-10 s
				// each on this 2-core host).
				restarted := time.Now()
				go func() {
					time.Sleep(8*time.Second - time.Since(restarted))
					for _, pid := range stopped {
						_ = syscall.Kill(pid, syscall.SIGCONT)
					}
				}()
				t.Cleanup(func() {
					for _, pid := range stopped {
						_ = syscall.Kill(pid, syscall.SIGCONT)
					}
				})
			}
			took := restartWithin(t, d, 2*time.Minute)
			t.Logf("restart took %v", took.Round(time.Millisecond))
			if took > 10*time.Second {
				var seen []string
				for _, l := range []string{"supervisor alive but not answering", "supervisor lingers after its container; killing it"} {
					if strings.Contains(d.Log()[logStart:], l) {
						seen = append(seen, strconv.Quote(l))
					}
				}
				t.Errorf("nucleusd answered %v after its restart (killed at %s, %s), want < 10s (row 16): recovery undoes the interrupted create before serving and waited on its supervisor (logged: %s)",
					took.Round(time.Millisecond), p.name, step, strings.Join(seen, ", "))
			}
			c = d.Client()
			ctx := ctxT(t, 2*time.Minute)
			// An interrupted create shows as creating while the restarted
			// daemon undoes it in the background; wait for it to settle.
			ct, gerr := c.Get(ctx, name)
			for gerr == nil && ct.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_CREATING && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
				ct, gerr = c.Get(ctx, name)
			}
			switch {
			case errors.Is(gerr, errdefs.ErrNotFound):
				if err == nil {
					t.Errorf("the create was acknowledged but the container is gone after the restart")
				}
				if left := waitOnlyKnown(d, nil, 15*time.Second); len(left) > 0 {
					t.Errorf("the interrupted create (%s) has no record but left behind:%s", step, recDescribe(left))
				}
			case gerr != nil:
				t.Fatal(gerr)
			default:
				if ct.GetState() != recCreated {
					t.Errorf("after recovery the container is %v, want created (or gone)", ct.GetState())
				}
				if stray := waitOnlyKnown(d, map[string]bool{ct.GetId(): true}, 15*time.Second); len(stray) > 0 {
					t.Errorf("things of unknown containers are left:%s", recDescribe(stray))
				}
				if _, err := c.Start(ctx, name); err != nil {
					t.Errorf("start after recovery: %v", err)
				}
				var out strings.Builder
				if code, err := c.Exec(ctx, client.ExecOptions{ID: name, Args: []string{"/bin/echo", "ok"}, Stdout: &out}); err != nil || code != 0 || out.String() != "ok\n" {
					t.Errorf("exec after recovery: %d %v %q", code, err, out.String())
				}
				if _, err := c.Delete(ctx, name, true); err != nil {
					t.Errorf("delete after recovery: %v", err)
				}
				recAssertGone(t, d, c, ct.GetId(), name, 15*time.Second)
			}
		})
	}
}

func recExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// printer prints "<tag> <n>" n = 0..count-1 every 100 ms, then exits with
// code.
func recPrinter(tag string, count, code int) *nucleusv1.ContainerSpec {
	return sh(fmt.Sprintf("i=0; while [ $i -lt %d ]; do echo %s $i; i=$((i+1)); sleep 0.1; done; exit %d", count, tag, code))
}

func recLines(tag string, count int) []string {
	var out []string
	for i := range count {
		out = append(out, fmt.Sprintf("%s %d", tag, i))
	}
	return out
}

// Row 18: nucleusd is SIGKILLed while containers run. Three of them finish
// while it is down; after the restart each reports its exact exit code and
// every line it printed, in order. The long-running one is adopted: same
// sandbox pid, and exec, logs -f and stop work on it.
func TestE2ERecoveryKill9RunningContainersReadopted(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	const count = 30 // 3 s of output
	long := sh("i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")
	long.Name = "long"
	lc, err := c.RunDetached(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	if lc.GetState() != recRunning || lc.GetPid() <= 0 || !recAlive(int(lc.GetPid())) {
		t.Fatalf("long-running container: %v", lc)
	}
	sandboxPid := lc.GetPid()
	// The printers are created first and started together, so that all
	// three are mid-way when the daemon is killed, however slow the host.
	ids := map[int]string{}
	for _, code := range []int{11, 12, 13} {
		spec := recPrinter(fmt.Sprintf("p%d", code), count, code)
		spec.Name = fmt.Sprintf("printer-%d", code)
		ct, err := c.Create(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids[code] = ct.GetId()
	}
	var wg sync.WaitGroup
	for code, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Start(ctx, id); err != nil {
				t.Errorf("start printer %d: %v", code, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for code, id := range ids {
		recWaitLogLine(t, c, id, fmt.Sprintf("p%d 3", code), 30*time.Second)
	}
	for code, id := range ids {
		if g, err := c.Get(ctx, id); err != nil || g.GetState() != recRunning {
			t.Fatalf("printer %d exited before the kill (the host is too slow for this test's timing): %v %v", code, g, err)
		}
	}
	d.Kill9()
	killed := time.Now()
	for _, id := range ids {
		recWaitFile(t, filepath.Join(d.Root, "containers", id, "exit.json"), 60*time.Second)
	}
	t.Logf("the printers finished %v after the kill, with no daemon", time.Since(killed).Round(time.Millisecond))
	d.Start()
	c = d.Client()

	for code, id := range ids {
		g, err := c.Get(ctx, id)
		if err != nil {
			t.Fatalf("get printer %d: %v", code, err)
		}
		w, err := c.Wait(ctx, id)
		if err != nil {
			t.Fatalf("wait printer %d: %v", code, err)
		}
		if g.GetState() != recExited || g.GetExit().GetExitCode() != int32(code) || w.GetExit().GetExitCode() != int32(code) || w.GetExit().GetReason() != "exited" {
			t.Errorf("printer %d after the restart: Get %v (exit %v), Wait %v; want exited with code %d, reason exited", code, g.GetState(), g.GetExit(), w.GetExit(), code)
		}
		lines, err := recStdoutLines(ctx, c, id)
		if err != nil {
			t.Fatalf("logs of printer %d: %v", code, err)
		}
		if want := recLines(fmt.Sprintf("p%d", code), count); strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("printer %d logs after the restart:\n%s\nwant:\n%s", code, strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
	}

	g, err := c.Get(ctx, lc.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if g.GetState() != recRunning || g.GetPid() != sandboxPid || !recAlive(int(sandboxPid)) {
		t.Fatalf("long-running container after the restart: state %v pid %d (alive %v), want running with the same sandbox pid %d", g.GetState(), g.GetPid(), recAlive(int(sandboxPid)), sandboxPid)
	}
	var out strings.Builder
	code, err := c.Exec(ctx, client.ExecOptions{ID: "long", Args: []string{"/bin/echo", "still here"}, Stdout: &out})
	if err != nil || code != 0 || out.String() != "still here\n" {
		t.Errorf("exec after the restart: code %d err %v out %q", code, err, out.String())
	}
	// logs -f: the history (ticks printed while nucleusd was down
	// included), then new ticks as they come, and the stream ends by
	// itself once the container is stopped.
	hist, err := recStdoutLines(ctx, c, "long")
	if err != nil || len(hist) == 0 {
		t.Fatalf("logs of the long-running container: %v %v", hist, err)
	}
	for i, l := range hist {
		if l != fmt.Sprintf("tick %d", i) {
			t.Fatalf("long-running container's log line %d = %q, want %q (a line was lost or reordered across the restart)", i, l, fmt.Sprintf("tick %d", i))
		}
	}
	fctx, fcancel := context.WithTimeout(ctx, 60*time.Second)
	defer fcancel()
	newTick := make(chan struct{})
	followDone := make(chan error, 1)
	var followed []string
	go func() {
		var once sync.Once
		followDone <- c.Logs(fctx, &nucleusv1.LogsRequest{Id: "long", Follow: true, Streams: nucleusv1.LogStream_LOG_STREAM_STDOUT}, func(e *nucleusv1.LogEntry) error {
			followed = append(followed, string(e.GetContent()))
			if len(followed) > len(hist) {
				once.Do(func() { close(newTick) })
			}
			return nil
		})
	}()
	select {
	case <-newTick:
	case err := <-followDone:
		t.Fatalf("logs -f ended before new output: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("logs -f showed no new output within 30s")
	}
	st, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: "long", GracePeriod: durationpb.New(5 * time.Second)})
	if err != nil {
		t.Fatalf("stop after the restart: %v", err)
	}
	if st.GetState() != recExited || st.GetExit().GetReason() != "killed" {
		t.Errorf("stop after the restart: %v, want exited/killed", st)
	}
	select {
	case err := <-followDone:
		if err != nil {
			t.Errorf("logs -f ended with %v, want a clean end once the container exited", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("logs -f still streaming 30s after the container exited")
	}
	for i, l := range followed {
		if l != fmt.Sprintf("tick %d", i) {
			t.Errorf("logs -f line %d = %q, want %q", i, l, fmt.Sprintf("tick %d", i))
			break
		}
	}
	if recAlive(int(sandboxPid)) {
		t.Errorf("sandbox pid %d still alive after stop", sandboxPid)
	}
}

// waitLogLine polls the container's stdout until it holds line.
func recWaitLogLine(t *testing.T, c *client.Client, id, line string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines, err := recStdoutLines(context.Background(), c, id)
		if err == nil {
			for _, l := range lines {
				if l == line {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s never printed %q (got %v, err %v)", id, line, lines, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Row 19 across a restart: a container that exits while nucleusd is down
// gets its exit code recorded and its poststop hook run exactly once, also
// across a further restart and the delete.
func TestE2ERecoveryExitWhileDownRunsPoststopOnce(t *testing.T) {
	hooks, cfg := recHookDir(t)
	d := StartDaemon(t, DaemonOptions{Config: cfg})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	spec := recPrinter("h", 10, 5)
	spec.Name = "hooked"
	spec.HookSet = "rec"
	ct, err := c.RunDetached(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	id := ct.GetId()
	d.Kill9()
	recWaitFile(t, filepath.Join(d.Root, "containers", id, "exit.json"), 60*time.Second)
	if runs := recHookRuns(hooks); len(runs) != 0 {
		t.Fatalf("poststop ran before any daemon saw the exit: %v", runs)
	}
	d.Start()
	c = d.Client()
	g := recWaitState(t, c, id, recExited, 30*time.Second)
	if g.GetExit().GetExitCode() != 5 || g.GetExit().GetReason() != "exited" {
		t.Errorf("exit after the restart: %v, want code 5 reason exited", g.GetExit())
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(recHookRuns(hooks)) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(recHookRuns(hooks)); n != 1 {
		t.Errorf("poststop ran %d times within 30s of the restart that found the exit, want 1", n)
	}
	// Another restart and the delete must not run it again.
	d.Stop()
	d.Start()
	c = d.Client()
	if _, err := c.Delete(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	runs := recHookRuns(hooks)
	if len(runs) != 1 {
		t.Fatalf("poststop ran %d times, want exactly once: %q", len(runs), runs)
	}
	if !strings.Contains(runs[0], `"id":"`+id+`"`) || !strings.Contains(runs[0], `"status":"stopped"`) {
		t.Errorf("poststop got state %s, want id %s and status stopped", runs[0], id)
	}
	recAssertGone(t, d, c, id, "deleted container", 15*time.Second)
}

// Row 22: the store is lost to corruption while the daemon is down. The
// daemon starts anyway, logs the rebuild, keeps the corrupt file aside and
// rebuilds every record from the supervisors and meta.json: names, owner,
// labels, states and exit codes intact, running containers still running
// and stoppable.
func TestE2ERecoveryCorruptStoreRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			junk := []byte(strings.Repeat("this is not a bbolt file\x00\xff", 2000))
			if err := os.WriteFile(path, junk, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string) {
			// Only the first page (meta 0) survives: the torn write of a
			// power loss.
			if err := os.Truncate(path, 4096); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := StartDaemon(t, DaemonOptions{})
			c := d.Client()
			ctx := ctxT(t, 2*time.Minute)
			running := map[string]*nucleusv1.Container{}
			for _, name := range []string{"run-a", "run-b"} {
				spec := &nucleusv1.ContainerSpec{Name: name, Args: []string{"/bin/sleep", "300"}, Labels: map[string]string{"who": name}}
				ct, err := c.RunDetached(ctx, spec)
				if err != nil {
					t.Fatal(err)
				}
				running[name] = ct
			}
			spec := sh("echo done; exit 7")
			spec.Name, spec.Labels = "gone-7", map[string]string{"who": "gone-7"}
			ex, err := c.RunDetached(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if w, err := c.Wait(ctx, ex.GetId()); err != nil || w.GetExit().GetExitCode() != 7 {
				t.Fatalf("wait: %v %v", w, err)
			}
			d.Stop()
			db := filepath.Join(d.Root, "nucleus.db")
			tc.corrupt(t, db)
			d.Start()
			c = d.Client()

			log := d.Log()
			if !strings.Contains(log, "the store was corrupt") {
				t.Errorf("the daemon did not log that the store was corrupt")
			}
			if n := strings.Count(log, "recovery: rebuilt a lost record"); n != 3 {
				t.Errorf("the daemon logged %d rebuilt records, want 3", n)
			}
			aside, _ := filepath.Glob(db + ".corrupt-*")
			if len(aside) != 1 {
				t.Errorf("corrupt copies kept aside: %v, want one", aside)
			}
			list, err := c.List(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*nucleusv1.Container{}
			for _, ct := range list {
				byName[ct.GetName()] = ct
			}
			if len(list) != 3 {
				t.Errorf("List after the rebuild has %d containers, want 3: %v", len(list), list)
			}
			for name, before := range running {
				ct := byName[name]
				switch {
				case ct == nil:
					t.Errorf("%s missing after the rebuild", name)
					continue
				case ct.GetId() != before.GetId() || ct.GetOwnerUid() != 0 || ct.GetLabels()["who"] != name:
					t.Errorf("%s rebuilt as id %s owner %d labels %v; want id %s owner 0 labels who=%s", name, ct.GetId(), ct.GetOwnerUid(), ct.GetLabels(), before.GetId(), name)
				case ct.GetState() != recRunning || ct.GetPid() != before.GetPid() || !recAlive(int(before.GetPid())):
					t.Errorf("%s rebuilt as %v pid %d; want running with the same sandbox pid %d", name, ct.GetState(), ct.GetPid(), before.GetPid())
				}
			}
			if ct := byName["gone-7"]; ct == nil {
				t.Error("gone-7 missing after the rebuild")
			} else if ct.GetId() != ex.GetId() || ct.GetState() != recExited || ct.GetExit().GetExitCode() != 7 || ct.GetOwnerUid() != 0 {
				t.Errorf("gone-7 rebuilt as %v; want id %s exited with code 7, owner 0", ct, ex.GetId())
			}
			for name := range running {
				st, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: name, GracePeriod: durationpb.New(time.Second)})
				if err != nil || st.GetState() != recExited {
					t.Errorf("stop %s after the rebuild: %v %v", name, st, err)
				}
			}
			for _, name := range []string{"run-a", "run-b", "gone-7"} {
				ct := byName[name]
				if ct == nil {
					continue
				}
				if _, err := c.Delete(ctx, name, false); err != nil {
					t.Errorf("delete %s after the rebuild: %v", name, err)
				}
				recAssertGone(t, d, c, ct.GetId(), name, 15*time.Second)
			}
		})
	}
}

// Containers whose records were lost (deleted from the store while the
// daemon was down) are orphans: the restarted daemon logs and removes
// their sandboxes, supervisors, runsc state and directories, and leaves
// the containers it has records of alone.
func TestE2ERecoveryOrphansCleaned(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	keep, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "keep", Args: []string{"/bin/sleep", "300"}})
	if err != nil {
		t.Fatal(err)
	}
	orphanRunning, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "orphan-running", Args: []string{"/bin/sleep", "300"}})
	if err != nil {
		t.Fatal(err)
	}
	orphanCreated, err := c.Create(ctx, &nucleusv1.ContainerSpec{Name: "orphan-created", Args: []string{"/bin/sleep", "300"}})
	if err != nil {
		t.Fatal(err)
	}
	orphans := map[string]string{orphanRunning.GetId(): "orphan-running", orphanCreated.GetId(): "orphan-created"}
	before := recArtifacts(d)
	for id, name := range orphans {
		if len(before[id]) < 3 {
			t.Fatalf("%s has too little on the host to make a meaningful orphan: %v", name, before[id])
		}
	}
	d.Kill9()
	st, err := store.Open(filepath.Join(d.Root, "nucleus.db"), store.Options{})
	if err != nil {
		t.Fatalf("open the store of the killed daemon: %v", err)
	}
	for id := range orphans {
		if err := st.DeleteContainer(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	d.Start()
	c = d.Client()
	for id, name := range orphans {
		recAssertGone(t, d, c, id, name, 20*time.Second)
		if !recLogHas(d, "removing an orphaned container", id) {
			t.Errorf("the daemon did not log the removal of orphan %s (%s)", name, id)
		}
	}
	g, err := c.Get(ctx, "keep")
	if err != nil || g.GetState() != recRunning || g.GetPid() != keep.GetPid() || !recAlive(int(keep.GetPid())) {
		t.Fatalf("the container with a record after orphan cleanup: %v %v; want running with sandbox pid %d", g, err, keep.GetPid())
	}
	if _, err := c.Delete(ctx, "keep", true); err != nil {
		t.Fatal(err)
	}
	recAssertGone(t, d, c, keep.GetId(), "keep", 15*time.Second)
}

// Row 29: a simulated reboot. The daemon stops, every supervisor and
// sandbox dies, every mount is dropped and --state (a tmpfs /run) is
// wiped; --root and the store survive. After the restart every record
// shows exited (live ones with reason "lost"), nothing orphaned is left,
// and delete works.
func TestE2ERecoverySimulatedReboot(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	live := map[string]*nucleusv1.Container{}
	withSecret := &nucleusv1.ContainerSpec{Name: "run-secret", Args: []string{"/bin/sleep", "300"},
		Secrets: []*nucleusv1.Secret{{Name: "token", Data: []byte("s3cret")}}}
	for _, spec := range []*nucleusv1.ContainerSpec{withSecret, {Name: "run-plain", Args: []string{"/bin/sleep", "300"}}} {
		ct, err := c.RunDetached(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		live[ct.GetId()] = ct
	}
	created, err := c.Create(ctx, &nucleusv1.ContainerSpec{Name: "created", Args: []string{"/bin/sleep", "300"}})
	if err != nil {
		t.Fatal(err)
	}
	live[created.GetId()] = created
	exSpec := sh("exit 3")
	exSpec.Name = "exited-3"
	exited, err := c.RunDetached(ctx, exSpec)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := c.Wait(ctx, exited.GetId()); err != nil || w.GetExit().GetExitCode() != 3 {
		t.Fatalf("wait: %v %v", w, err)
	}
	secretMounted := false
	for id, ct := range live {
		for _, what := range recArtifacts(d)[id] {
			if ct.GetName() == "run-secret" && strings.HasPrefix(what, "mount "+filepath.Join(d.State, "secrets")) {
				secretMounted = true
			}
		}
	}
	if !secretMounted {
		t.Fatalf("the secrets tmpfs is not mounted under %s; the reboot would not test its collection:%s", d.State, recDescribe(recArtifacts(d)))
	}

	// The reboot: processes, mounts, cgroups and /run are gone.
	ids := []string{exited.GetId()}
	for id := range live {
		ids = append(ids, id)
	}
	d.Stop()
	recKillTestProcesses(t, d.Dir, 30*time.Second)
	recUnmountAll(t, d.Dir)
	recRemoveCgroups(t, ids, 30*time.Second)
	if err := os.RemoveAll(d.State); err != nil {
		t.Fatal(err)
	}
	d.Start()
	c = d.Client()

	known := map[string]bool{exited.GetId(): true}
	for id, ct := range live {
		known[id] = true
		g := recWaitState(t, c, id, recExited, 30*time.Second)
		if g.GetExit().GetExitCode() != -1 || g.GetExit().GetReason() != "lost" {
			t.Errorf("%s after the reboot: exit %v, want code -1 reason lost", ct.GetName(), g.GetExit())
		}
	}
	if g, err := c.Get(ctx, exited.GetId()); err != nil || g.GetState() != recExited || g.GetExit().GetExitCode() != 3 || g.GetExit().GetReason() != "exited" {
		t.Errorf("exited-3 after the reboot: %v %v; want exited with code 3", g, err)
	}
	if stray := waitOnlyKnown(d, known, 15*time.Second); len(stray) > 0 {
		t.Errorf("after the reboot, things of unknown containers are left:%s", recDescribe(stray))
	}
	// Of the known containers only their directories under --root (logs,
	// exit status, bundle) may remain: no process, mount or runsc state.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var bad []string
		for id, what := range recArtifacts(d) {
			for _, w := range what {
				if !strings.HasPrefix(w, "file root/containers/") {
					bad = append(bad, id+": "+w)
				}
			}
		}
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after the reboot, live leftovers of exited containers:\n  %s", strings.Join(bad, "\n  "))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for id := range known {
		if _, err := c.Delete(ctx, id, false); err != nil {
			t.Errorf("delete %s after the reboot: %v", id, err)
		}
		recAssertGone(t, d, c, id, "deleted after the reboot", 15*time.Second)
	}
}

// TestE2ERecoveryKill9BeforeAutoRemoveCleanup: auto_remove runs answer once
// their records are gone and leave the host side to a background cleanup;
// a daemon SIGKILLed right after the answers, before that cleanup could
// finish, leaves no record, and the next daemon removes every leftover
// (runsc state, supervisor and container directories, mounts).
func TestE2ERecoveryKill9BeforeAutoRemoveCleanup(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ex, id, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sh", "-c", "exit 2"}, AutoRemove: true}, client.RunOptions{})
			ids[i] = id
			if err == nil && ex.GetExitCode() != 2 {
				err = fmt.Errorf("exit %d", ex.GetExitCode())
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	d.Kill9()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	pending := 0
	for _, id := range ids {
		if len(recArtifacts(d)[id]) > 0 {
			pending++
		}
	}
	t.Logf("%d of %d containers still had host leftovers at the kill", pending, n)
	d.Start()
	c = d.Client()
	for _, id := range ids {
		if _, err := c.Get(ctx, id); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: Get after restart = %v, want NotFound", id, err)
		}
	}
	if stray := waitOnlyKnown(d, map[string]bool{}, 30*time.Second); len(stray) > 0 {
		t.Fatalf("left behind after the restart:%s", recDescribe(stray))
	}
}
