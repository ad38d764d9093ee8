package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// freeSupervisors lists the daemon's free supervisor processes: started
// for its supervisors directory, working in / (no container).
func freeSupervisors(d *Daemon) []int {
	var pids []int
	for pid, cmdline := range recProcessesMentioning(filepath.Join(d.State, "supervisors")) {
		if isSpareSupervisor(cmdline) && recAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isFree(d *Daemon, pid int) bool {
	for _, p := range freeSupervisors(d) {
		if p == pid {
			return true
		}
	}
	return false
}

// openFiles counts a process's open files, pidfds apart.
func openFiles(t *testing.T, pid int) (files, pidfds int) {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && target == "anon_inode:[pidfd]" {
			pidfds++
		} else {
			files++
		}
	}
	return files, pidfds
}

// maxPidfds bounds the pidfds a free supervisor holds: those of its last
// containers' sandbox and gofer, which Go's garbage collector releases;
// settle does not force a collection after each container, only once more
// than 16 are held (their finalizers close them moments later). Two per
// container, kept across containers, would pass it within a dozen.
const maxPidfds = 20

// rssKiB is a process's anonymous resident memory (RssAnon) in KiB.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	t.Fatalf("no RssAnon for %d", pid)
	return 0
}

// TestE2ESupervisorReuse: a supervisor whose container has ended serves
// the next create - another tenant's too - with nothing of the last
// container: its own output, exit code and supervisor log; and ten
// containers later it holds no more open files than after its first, and
// little more memory.
func TestE2ESupervisorReuse(t *testing.T) {
	d := tenantDaemon(t, "")
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)

	a, err := c.RunDetached(ctx, sh("sleep 0.3; echo root-secret; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	p := supervisorPid(t, d, a.GetId())
	if g := recWaitState(t, c, a.GetId(), recExited, time.Minute); g.GetExit().GetExitCode() != 3 {
		t.Fatalf("first container: %v", g.GetExit())
	}
	if !waitFor(10*time.Second, func() bool { return isFree(d, p) }) {
		t.Fatalf("supervisor %d not free after its container (free: %v)", p, freeSupervisors(d))
	}
	files, _ := openFiles(t, p)

	// Another uid's container in the same process.
	r := asTenant(t, d, childCall{Op: "create", Spec: sh("sleep 0.3; echo tenant-out; exit 4")}, childCall{Op: "start"})
	if r[0].Kind != "" || r[1].Kind != "" {
		t.Fatalf("tenant's run: %+v", r)
	}
	tid := r[0].ID
	if got := supervisorPid(t, d, tid); got != p {
		t.Errorf("the tenant's container got supervisor %d, want the free %d", got, p)
	}
	if g := recWaitState(t, c, tid, recExited, time.Minute); g.GetExit().GetExitCode() != 4 {
		t.Fatalf("tenant's container: %v", g.GetExit())
	}
	lines, err := recStdoutLines(ctx, c, tid)
	if err != nil || strings.Join(lines, "") != "tenant-out" {
		t.Errorf("tenant's output %q (%v), want only its own", lines, err)
	}
	slog, err := os.ReadFile(filepath.Join(d.State, "supervisors", tid, "supervisor.log"))
	if err != nil || !strings.Contains(string(slog), "supervising in a reused process") || strings.Contains(string(slog), a.GetId()) {
		t.Errorf("the reused supervisor's log for the tenant's container (%v):\n%s", err, slog)
	}

	// Ten more, one after the other: one or two processes serve them all
	// (the spare started 250 ms after a create joins in), each exit code
	// and output its container's, no file left open.
	used := map[int]bool{}
	var ids []string
	var rssFirst int
	for i := range 10 {
		ct, err := c.RunDetached(ctx, sh(fmt.Sprintf("sleep 0.3; echo run-%d; exit %d", i, 10+i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ct.GetId())
		pid := supervisorPid(t, d, ct.GetId())
		used[pid] = true
		if g := recWaitState(t, c, ct.GetId(), recExited, time.Minute); g.GetExit().GetExitCode() != int32(10+i) {
			t.Fatalf("run %d: %v", i, g.GetExit())
		}
		if lines, err := recStdoutLines(ctx, c, ct.GetId()); err != nil || strings.Join(lines, "") != fmt.Sprintf("run-%d", i) {
			t.Errorf("run %d output %q (%v)", i, lines, err)
		}
		if !waitFor(10*time.Second, func() bool { return isFree(d, pid) }) {
			t.Fatalf("run %d: supervisor %d not free after its container", i, pid)
		}
		if pid == p {
			if n, pidfds := openFiles(t, p); n > files || pidfds > maxPidfds {
				t.Errorf("run %d: supervisor %d holds %d open files and %d pidfds, %d files after its first container", i, p, n, pidfds, files)
			}
			if rssFirst == 0 {
				rssFirst = rssKiB(t, p)
			}
		}
	}
	if len(used) > 2 {
		t.Errorf("10 sequential containers used %d supervisor processes, want at most 2", len(used))
	}

	// The containers so far go; then runs that remove themselves, back to
	// back: the host cleanup of each
	// (in the background, right after the answer) must not take its
	// supervisor, already free or serving the next run, for one that
	// lingers in the container's directory.
	for _, id := range append([]string{a.GetId(), tid}, ids...) {
		if _, err := c.Delete(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		spec := sh("exit " + strconv.Itoa(i%7))
		spec.AutoRemove = true
		ex, _, err := c.Run(ctx, spec, client.RunOptions{})
		if err != nil || ex.GetExitCode() != int32(i%7) {
			t.Fatalf("auto-removed run %d: %v, %v", i, ex, err)
		}
	}
	if !waitFor(30*time.Second, func() bool { return len(d.Leftovers()) == 0 }) {
		t.Errorf("left after the auto-removed runs: %v", d.Leftovers())
	}
	if strings.Contains(d.Log(), "supervisor lingers") {
		t.Error("the host cleanup killed a supervisor for lingering after its container")
	}
	if !recAlive(p) {
		t.Errorf("supervisor %d died during the auto-removed runs", p)
	}
	n, pidfds := openFiles(t, p)
	if n > files || pidfds > maxPidfds {
		t.Errorf("supervisor %d holds %d open files and %d pidfds after the runs, %d files after its first container", p, n, pidfds, files)
	}
	if rss := rssKiB(t, p); rssFirst > 0 && rss > rssFirst+4096 {
		t.Errorf("supervisor %d grew from %d to %d KiB over the containers it served", p, rssFirst, rss)
	} else {
		t.Logf("supervisor %d: %d KiB resident after the runs (%d KiB early on), %d open files, %d pidfds", p, rss, rssFirst, n, pidfds)
	}
}

// TestE2ESupervisorReuseLimitAndDaemonKill9: a supervisor ends after
// [supervisors] reuse containers; when nucleusd is killed, free
// supervisors exit at once and a busy one after its container, whose exit
// the restarted daemon records; containers of every kind (a terminal, open
// stdin, a timeout, a failed start) leave the next container in a reused
// supervisor its own output and exit.
func TestE2ESupervisorReuseLimitAndDaemonKill9(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[supervisors]\nreuse = 2\n"})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 4*time.Minute)

	var pids []int
	for i := range 2 {
		ct, err := c.RunDetached(ctx, sh("sleep 0.3; exit "+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, supervisorPid(t, d, ct.GetId()))
		recWaitState(t, c, ct.GetId(), recExited, time.Minute)
		if i == 0 && !waitFor(10*time.Second, func() bool { return isFree(d, pids[0]) }) {
			t.Fatal("not free after its first container")
		}
	}
	if pids[0] != pids[1] {
		t.Fatalf("the second container got supervisor %d, want the free %d", pids[1], pids[0])
	}
	if !waitFor(10*time.Second, func() bool { return !recAlive(pids[0]) }) {
		t.Fatal("a supervisor outlived its reuse = 2 containers")
	}

	// Odd lives, then a plain one: each ends as it should.
	tty := sh("echo tty-out; exit 5")
	tty.Tty = true
	stdin := sh("cat >/dev/null; echo stdin-out; exit 6")
	stdin.OpenStdin = true
	slow := sh("sleep 600")
	slow.Timeout = durationpb.New(500 * time.Millisecond)
	missing := &nucleusv1.ContainerSpec{Args: []string{"/no/such/binary"}}
	for _, k := range []struct {
		spec *nucleusv1.ContainerSpec
		code int32
	}{{tty, 5}, {stdin, -2}, {slow, 137}, {missing, -3}, {sh("echo plain-out; exit 7"), 7}} {
		ct, err := c.RunDetached(ctx, k.spec)
		if k.code == -3 {
			if err == nil {
				g := recWaitState(t, c, ct.GetId(), recExited, time.Minute)
				t.Logf("missing binary: %v", g.GetExit())
			} else {
				t.Logf("missing binary: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if k.code == -2 { // nobody writes: it waits on its open stdin until killed
			time.Sleep(300 * time.Millisecond)
			if err := c.Kill(ctx, ct.GetId(), uint32(syscall.SIGKILL)); err != nil {
				t.Fatal(err)
			}
			k.code = 137
		}
		g := recWaitState(t, c, ct.GetId(), recExited, time.Minute)
		if k.code >= 0 && g.GetExit().GetExitCode() != k.code {
			t.Errorf("%v: exit %v, want %d", k.spec.GetArgs(), g.GetExit(), k.code)
		}
		if k.code == 7 {
			if lines, err := recStdoutLines(ctx, c, ct.GetId()); err != nil || strings.Join(lines, "") != "plain-out" {
				t.Errorf("the plain container after the odd ones: output %q (%v)", lines, err)
			}
		}
	}

	// nucleusd killed: free supervisors go at once, a busy one after its
	// container.
	long, err := c.RunDetached(ctx, sh("sleep 600"))
	if err != nil {
		t.Fatal(err)
	}
	busy := supervisorPid(t, d, long.GetId())
	if !waitFor(10*time.Second, func() bool { return len(freeSupervisors(d)) > 0 }) {
		t.Fatal("no free supervisor beside the running container")
	}
	free := freeSupervisors(d)
	d.Kill9()
	for _, pid := range free {
		if !waitFor(10*time.Second, func() bool { return !recAlive(pid) }) {
			t.Errorf("free supervisor %d outlived nucleusd", pid)
		}
	}
	if !recAlive(busy) {
		t.Fatal("the busy supervisor died with nucleusd")
	}
	d.Start()
	c = d.Client()
	if err := c.Kill(ctx, long.GetId(), uint32(syscall.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	if g := recWaitState(t, c, long.GetId(), recExited, time.Minute); g.GetExit().GetExitCode() != 137 {
		t.Errorf("the container supervised across the daemon's death: %v", g.GetExit())
	}
	if !waitFor(10*time.Second, func() bool { return !recAlive(busy) }) {
		t.Error("the old daemon's supervisor stayed after its container (its spawner is gone)")
	}
}

// TestE2ESupervisorReuseFlood: two rounds of 24 runs at once, the second
// served by the first round's supervisors: every run gets its own exit
// code and only its own output, nothing is killed as lingering, nothing
// is left; and kill -9 of a reused supervisor while it supervises loses
// only its own container's exit (recorded as lost), not the next create.
func TestE2ESupervisorReuseFlood(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 4*time.Minute)
	const n = 24
	for round := range 2 {
		errs := make(chan error, n)
		for i := range n {
			go func() {
				code := (round*n + i) % 100
				spec := sh(fmt.Sprintf("echo out-%d-%d; exit %d", round, i, code))
				spec.AutoRemove = true
				var out strings.Builder
				ex, _, err := c.Run(ctx, spec, client.RunOptions{Stdout: &out})
				switch {
				case err != nil:
					errs <- fmt.Errorf("run %d/%d: %w", round, i, err)
				case ex.GetExitCode() != int32(code):
					errs <- fmt.Errorf("run %d/%d: exit %v, want %d", round, i, ex, code)
				case out.String() != fmt.Sprintf("out-%d-%d\n", round, i):
					errs <- fmt.Errorf("run %d/%d: output %q", round, i, out.String())
				default:
					errs <- nil
				}
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if round == 0 && !waitFor(20*time.Second, func() bool { return len(freeSupervisors(d)) >= n }) {
			t.Fatalf("%d free supervisors after %d runs at once, want %d", len(freeSupervisors(d)), n, n)
		}
	}
	if !waitFor(30*time.Second, func() bool { return len(d.Leftovers()) == 0 }) {
		t.Errorf("left after the floods: %v", d.Leftovers())
	}
	if strings.Contains(d.Log(), "supervisor lingers") {
		t.Error("a supervisor was killed as lingering during the floods")
	}

	// Callers that give up: 8 Runs cancelled mid-way, on reused
	// supervisors. Each container runs to its own exit, recorded; its
	// supervisor comes back free.
	var cancelled []string
	for i := range 8 {
		cctx, cancel := context.WithCancel(ctx)
		spec := sh(fmt.Sprintf("sleep 0.4; exit %d", 20+i))
		spec.Name = fmt.Sprintf("cancelled-%d", i)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _, _ = c.Run(cctx, spec, client.RunOptions{})
		}()
		time.Sleep(150 * time.Millisecond)
		cancel()
		<-done
		ct, err := c.Get(ctx, spec.Name)
		if err != nil {
			t.Fatalf("cancelled run %d: %v", i, err)
		}
		cancelled = append(cancelled, ct.GetId())
	}
	for i, id := range cancelled {
		if g := recWaitState(t, c, id, recExited, time.Minute); g.GetExit().GetExitCode() != int32(20+i) {
			t.Errorf("cancelled run %d: %v, want its own exit %d", i, g.GetExit(), 20+i)
		}
		if _, err := c.Delete(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(20*time.Second, func() bool { return len(freeSupervisors(d)) >= n }) {
		t.Errorf("%d free supervisors after the cancelled runs, want %d", len(freeSupervisors(d)), n)
	}

	// kill -9 of a reused supervisor in the middle of its container.
	ct, err := c.RunDetached(ctx, sh("sleep 600"))
	if err != nil {
		t.Fatal(err)
	}
	pid := supervisorPid(t, d, ct.GetId())
	slog, _ := os.ReadFile(filepath.Join(d.State, "supervisors", ct.GetId(), "supervisor.log"))
	if !strings.Contains(string(slog), "supervising in a reused process") {
		t.Fatalf("the container after the floods did not get a reused supervisor:\n%s", slog)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, ct.GetId(), uint32(syscall.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	if g := recWaitState(t, c, ct.GetId(), recExited, time.Minute); g.GetExit().GetReason() != "lost" {
		t.Errorf("exit after its reused supervisor was killed: %v, want lost", g.GetExit())
	}
	ex, _, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sh", "-c", "exit 9"}, AutoRemove: true}, client.RunOptions{})
	if err != nil || ex.GetExitCode() != 9 {
		t.Errorf("a run after the kill: %v, %v", ex, err)
	}
	if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return len(d.Leftovers()) == 0 }) {
		t.Errorf("left at the end: %v", d.Leftovers())
	}
}

// TestE2ESupervisorReuseFullDisk: a container that exits while the disk is
// full keeps its supervisor until its exit is written (space back), and
// that supervisor then serves the next container with its own output and
// exit; a free supervisor is not used up by a create refused for the disk.
func TestE2ESupervisorReuseFullDisk(t *testing.T) {
	root := smallRoot(t, "64m")
	d := NewDaemon(t, DaemonOptions{Config: "[limits]\nmin_free_disk = \"8m\"\n"})
	d.Root = root
	d.Start()
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)

	ct, err := c.RunDetached(ctx, sh("trap 'exit 3' USR1; while :; do sleep 0.2; done"))
	if err != nil {
		t.Fatal(err)
	}
	p := supervisorPid(t, d, ct.GetId())
	free := fillDisk(t, root)
	defer free()
	idleBefore := len(freeSupervisors(d))
	if _, err := c.Create(ctx, sh("true")); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("create on a full disk: %v, want ResourceExhausted", err)
	}
	if n := len(freeSupervisors(d)); n < idleBefore {
		t.Errorf("a refused create took a free supervisor: %d free, %d before", n, idleBefore)
	}
	if err := c.Kill(ctx, ct.GetId(), uint32(syscall.SIGUSR1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // its exit.json cannot be written yet
	if !recAlive(p) || isFree(d, p) {
		t.Fatal("the supervisor let go of a container whose exit is not written")
	}
	free()
	if g := recWaitState(t, c, ct.GetId(), recExited, time.Minute); g.GetExit().GetExitCode() != 3 {
		t.Fatalf("exit after space returned: %v, want 3", g.GetExit())
	}
	if !waitFor(20*time.Second, func() bool { return isFree(d, p) }) {
		t.Fatalf("supervisor %d not free after the exit was written", p)
	}
	next, err := c.RunDetached(ctx, sh("sleep 0.3; echo after-full; exit 4"))
	if err != nil {
		t.Fatal(err)
	}
	if got := supervisorPid(t, d, next.GetId()); got != p {
		t.Errorf("the next container got supervisor %d, want the reused %d", got, p)
	}
	if g := recWaitState(t, c, next.GetId(), recExited, time.Minute); g.GetExit().GetExitCode() != 4 {
		t.Errorf("the next container: %v, want 4", g.GetExit())
	}
	if lines, err := recStdoutLines(ctx, c, next.GetId()); err != nil || strings.Join(lines, "") != "after-full" {
		t.Errorf("the next container's output %q (%v)", lines, err)
	}
}

// TestE2ESupervisorReusePodMembers: a pod's members that remove
// themselves, back to back (`nucleusctl run --rm --pod`), are served by
// reused supervisors like any container: the same few processes. gVisor
// leaves some of a member's files (its connections to the pod's sandbox)
// to the garbage collector; a supervisor that only waited for them gave
// up on its reuse and exited after most members, and each member then
// paid for a new process.
func TestE2ESupervisorReusePodMembers(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)

	pod := sh("sleep 600")
	pod.Name = "rp"
	if _, err := c.RunDetached(ctx, pod); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for i := range 20 {
		spec := member("rp", fmt.Sprintf("exit %d", i))
		spec.AutoRemove = true
		if st, _, out := runMember(t, c, ctx, spec); st.GetExitCode() != int32(i) {
			t.Fatalf("member %d: %v %q", i, st, out)
		}
		time.Sleep(100 * time.Millisecond)
		for _, pid := range freeSupervisors(d) {
			seen[pid] = true
		}
	}
	// Free between members: the one that serves them and, at times, the
	// spare started beside it. Supervisors that gave up on their reuse
	// were replaced by new processes: 5 of them in two runs before the fix.
	if len(seen) > 3 {
		t.Errorf("20 members used %d supervisor processes, want at most 3", len(seen))
	}
	if _, err := c.Delete(ctx, "rp", true); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return len(d.Leftovers()) == 0 }) {
		t.Errorf("left after the auto-removed members and their pod: %v", d.Leftovers())
	}
}
