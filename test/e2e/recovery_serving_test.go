package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// TestE2ERecoveryServesReadsWhileASupervisorIsStuck: supervisors that are
// stopped (SIGSTOP) when nucleusd restarts must not keep the daemon from
// answering: Get and List answer at once, a create waits for recovery
// (Unavailable if the caller's deadline ends first), recovery gives up on
// the stuck supervisor of a created container after a bounded wait (a
// running one's is adopted without asking), and once they are resumed
// their containers are stopped and their exits recorded like any other.
func TestE2ERecoveryServesReadsWhileASupervisorIsStuck(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	// ids[0] is created, not started: recovery must ask its supervisor
	// whether it was started while nucleusd was down. The others run:
	// recovery adopts them without asking (their watchers ask later), so
	// ids[1]'s stuck supervisor delays nothing.
	created, err := c.Create(ctx, sh("sleep 600"))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{created.GetId()}
	for range 2 {
		ct, err := c.RunDetached(ctx, sh("sleep 600"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ct.GetId())
	}
	var pids []int
	for _, id := range ids[:2] {
		pid, ok := supervisor.Running(filepath.Join(d.State, "supervisors", id))
		if !ok {
			t.Fatalf("no supervisor for %s", id)
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGCONT)
			}
		}
	}
	defer resume()

	d.Kill9()
	begin := d.Launch()
	checkHeldDuringRecovery(t, d, begin, ids[0])
	serving := d.AwaitServing(begin, time.Minute)
	t.Logf("first read answered %v after the start, serving every call after %v", d.FirstAnswer, serving)
	if d.FirstAnswer > 2*time.Second {
		t.Errorf("the first read was answered %v after the start; want under 2 s with a stuck supervisor", d.FirstAnswer)
	}
	if serving-d.FirstAnswer < 2*time.Second {
		t.Errorf("recovery finished %v after the first answer: the stuck supervisor was not waited for at all", serving-d.FirstAnswer)
	}
	if serving > 20*time.Second {
		t.Errorf("recovery took %v with one stuck supervisor; want it bounded (about 5 s)", serving)
	}
	c = d.Client()
	list, err := c.List(ctx, nil)
	if err != nil || len(list) != 3 {
		t.Fatalf("List after recovery: %d containers, %v", len(list), err)
	}
	for _, ct := range list {
		want := nucleusv1.ContainerState_CONTAINER_STATE_RUNNING
		if ct.GetId() == ids[0] {
			want = nucleusv1.ContainerState_CONTAINER_STATE_CREATED
		}
		if ct.GetState() != want {
			t.Errorf("%s is %v after recovery, want %v", ct.GetId(), ct.GetState(), want)
		}
	}
	resume()
	for _, id := range ids {
		if _, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: id, GracePeriod: durationpb.New(2 * time.Second)}); err != nil {
			t.Fatalf("stop %s: %v", id, err)
		}
		w, err := c.Wait(ctx, id)
		if err != nil || w.GetExit() == nil {
			t.Fatalf("wait %s: %v %v", id, w, err)
		}
	}
}

// checkHeldDuringRecovery polls the restarting daemon until Get answers
// for id (within 10 s), then checks that a create with a short deadline is
// held (Unavailable) rather than served by a half-recovered daemon.
func checkHeldDuringRecovery(t *testing.T, d *Daemon, begin time.Time, id string) {
	t.Helper()
	for time.Since(begin) < 10*time.Second {
		cl, err := d.tryClient()
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		g, gerr := cl.Get(ctx, id)
		cancel()
		if gerr != nil {
			cl.Close()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		d.FirstAnswer = time.Since(begin)
		if g.GetId() != id {
			t.Errorf("Get during recovery: %v", g)
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, cerr := cl.Create(cctx, sh("true"))
		ccancel()
		cl.Close()
		if !errors.Is(cerr, errdefs.ErrUnavailable) && !errors.Is(cerr, errdefs.ErrDeadlineExceeded) {
			t.Errorf("Create during recovery: %v; want it held (Unavailable)", cerr)
		}
		return
	}
	t.Fatal("Get was not answered within 10 s of the restart while a supervisor was stuck")
}
