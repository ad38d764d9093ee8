package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
	"nucleus.dev/nucleus/internal/testutil"
)

// member is a spec that joins pod.
func member(pod, script string) *nucleusv1.ContainerSpec {
	s := sh(script)
	s.Pod = pod
	return s
}

// runMember runs a member attached and returns its exit status and output.
func runMember(t *testing.T, c *client.Client, ctx context.Context, spec *nucleusv1.ContainerSpec) (*nucleusv1.ExitStatus, string, string) {
	t.Helper()
	var out bytes.Buffer
	st, id, err := c.Run(ctx, spec, client.RunOptions{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run member of %s: %v", spec.GetPod(), err)
	}
	return st, id, out.String()
}

// podHTTPD is a pod's first container serving "pod-localhost" on
// 127.0.0.1:8080 inside its sandbox.
func podHTTPD(name string) *nucleusv1.ContainerSpec {
	s := sh("mkdir -p /tmp/www && echo pod-localhost > /tmp/www/index.html && exec /usr/bin/busybox httpd -f -p 8080 -h /tmp/www")
	s.Name, s.Network = name, "loopback"
	return s
}

// TestE2EPods: containers run in another container's gVisor sandbox
// (spec.pod): they reach it on localhost, keep their own output and exit
// codes, can be exec'd into and sampled, die with the pod, and what gVisor
// does to a whole sandbox (pause, checkpoint, update) is refused for them;
// a nucleusd killed with -9 loses no member's exit; nothing is left on the
// host afterwards.
func TestE2EPods(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 4*time.Minute)

	pod, err := c.RunDetached(ctx, podHTTPD("web"))
	if err != nil {
		t.Fatal(err)
	}
	// The member reaches the pod's server on localhost, by the pod's name.
	var st *nucleusv1.ExitStatus
	var out string
	for i := 0; i < 50; i++ { // httpd binds within a moment
		spec := member("web", "/usr/bin/busybox wget -qO- http://127.0.0.1:8080/")
		spec.AutoRemove = true
		if st, _, out = runMember(t, c, ctx, spec); st.GetExitCode() == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.GetExitCode() != 0 || strings.TrimSpace(out) != "pod-localhost" {
		t.Fatalf("member's wget of the pod's localhost: exit %d, output %q; want 0, pod-localhost", st.GetExitCode(), out)
	}

	// Its own exit code, output and record: spec.pod names the pod by id,
	// its pid is the pod's sandbox.
	st, id, out := runMember(t, c, ctx, member(pod.GetId()[:12], "echo from-member; echo to-stderr >&2; exit 7"))
	if st.GetExitCode() != 7 || st.GetReason() != "exited" || !strings.Contains(out, "from-member") || !strings.Contains(out, "to-stderr") {
		t.Fatalf("member exit %+v output %q; want code 7, exited, both lines", st, out)
	}
	rec, err := c.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetSpec().GetPod() != pod.GetId() {
		t.Errorf("member's stored spec.pod %q, want the pod's id %s", rec.GetSpec().GetPod(), pod.GetId())
	}
	if _, err := c.Delete(ctx, id, false); err != nil {
		t.Fatal(err)
	}

	// Created, then started: gVisor hands a member its stdio at the start.
	later, err := c.Create(ctx, member("web", "echo started-later; exit 6"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx, later.GetId()); err != nil {
		t.Fatal(err)
	}
	if w, err := c.Wait(ctx, later.GetId()); err != nil || w.GetExit().GetExitCode() != 6 {
		t.Fatalf("member created, then started: %v %+v, want exit 6", err, w.GetExit())
	}
	if lines, err := recStdoutLines(ctx, c, later.GetId()); err != nil || strings.Join(lines, "|") != "started-later" {
		t.Errorf("output of the member created, then started: %q %v", lines, err)
	}
	if _, err := c.Delete(ctx, later.GetId(), false); err != nil {
		t.Fatal(err)
	}

	// What a member may not set, what may not be a pod.
	created, err := c.Create(ctx, sh("sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	withNet, withRes := member("web", "true"), member("web", "true")
	withNet.Network = "none"
	withRes.Resources = &nucleusv1.Resources{MemoryBytes: 64 << 20}
	for _, tc := range []struct {
		what string
		spec *nucleusv1.ContainerSpec
		want error
	}{
		{"a member with a network", withNet, errdefs.ErrInvalidArgument},
		{"a member with resources", withRes, errdefs.ErrInvalidArgument},
		{"a pod that does not exist", member("nosuchpod", "true"), errdefs.ErrNotFound},
		{"a pod that is only created", member(created.GetId(), "true"), errdefs.ErrFailedPrecondition},
	} {
		if _, err := c.RunDetached(ctx, tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, err, tc.want)
		}
	}
	if _, err := c.Delete(ctx, created.GetId(), true); err != nil {
		t.Fatal(err)
	}

	// A live member: exec into it, sample it, and refusals for the pod.
	side, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Pod: "web", Args: []string{"/bin/sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunDetached(ctx, member(side.GetId(), "true")); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("a member as a pod: %v, want FailedPrecondition", err)
	}
	ex, err := c.ExecSync(ctx, &nucleusv1.ExecSyncRequest{Id: side.GetId(), Args: []string{"/bin/cat", "/proc/1/cmdline"}})
	if err != nil || string(ex.GetStdout()) != "/bin/sleep\x00600\x00" {
		t.Errorf("exec in the member: %v %q; want its own init (sleep 600)", err, ex.GetStdout())
	}
	var samples []*nucleusv1.ContainerStats
	if err := c.Stats(ctx, &nucleusv1.StatsRequest{Ids: []string{"web", side.GetId()}}, func(s []*nucleusv1.ContainerStats) error { samples = s; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 || samples[0].GetMemoryUsageBytes() == 0 || samples[1].GetMemoryUsageBytes() == 0 {
		t.Errorf("stats of the pod and its member: %v; want two samples with memory", samples)
	}
	refusals := []struct {
		what string
		call func() error
	}{
		{"pause of the member", func() error { _, err := c.Pause(ctx, side.GetId()); return err }},
		{"pause of the pod", func() error { _, err := c.Pause(ctx, "web"); return err }},
		{"update of the member", func() error {
			_, err := c.Update(ctx, side.GetId(), &nucleusv1.Resources{MemoryBytes: 128 << 20})
			return err
		}},
		{"checkpoint of the pod", func() error {
			_, err := c.Checkpoint(ctx, "web", client.CheckpointOptions{LeaveRunning: true})
			return err
		}},
		{"checkpoint of the member", func() error {
			_, err := c.Checkpoint(ctx, side.GetId(), client.CheckpointOptions{LeaveRunning: true})
			return err
		}},
		{"forced removal of the pod with a live member", func() error { _, err := c.Delete(ctx, "web", true); return err }},
	}
	for _, r := range refusals {
		if err := r.call(); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("%s: %v, want FailedPrecondition", r.what, err)
		}
	}
	if got, _ := c.Get(ctx, "web"); got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("the pod after the refusals: %v, want running", got.GetState())
	}

	// A member's timeout and stop end the member only.
	timed := member("web", "sleep 600")
	timed.Timeout = durationpb.New(time.Second)
	st, _, _ = runMember(t, c, ctx, timed)
	if st.GetReason() != "timeout" {
		t.Errorf("member past its timeout: %+v, want reason timeout", st)
	}
	stopped, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: side.GetId(), GracePeriod: durationpb.New(time.Second)})
	if err != nil || stopped.GetExit().GetReason() != "killed" {
		t.Fatalf("stop of the member: %v %+v", err, stopped.GetExit())
	}
	st, _, out = runMember(t, c, ctx, member("web", "/usr/bin/busybox wget -qO- http://127.0.0.1:8080/"))
	if st.GetExitCode() != 0 || strings.TrimSpace(out) != "pod-localhost" {
		t.Fatalf("the pod after its members' timeout and stop: exit %d %q; want it still serving", st.GetExitCode(), out)
	}

	// kill -9 of nucleusd while a member runs: its exit is recorded.
	late, err := c.RunDetached(ctx, member("web", "sleep 2; echo late-line; exit 5"))
	if err != nil {
		t.Fatal(err)
	}
	d.Kill9()
	time.Sleep(3 * time.Second)
	d.Start()
	c = d.Client()
	w, err := c.Wait(ctx, late.GetId())
	if err != nil || w.GetExit().GetExitCode() != 5 {
		t.Fatalf("member that exited while nucleusd was down: %v %+v, want exit 5", err, w.GetExit())
	}

	// Members die with their pod, and say so.
	var members []string
	for i := 0; i < 8; i++ {
		m, err := c.RunDetached(ctx, member("web", "sleep 600"))
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m.GetId())
	}
	// One created and never started: it has no process, and still ends
	// with its pod.
	unstarted, err := c.Create(ctx, member("web", "true"))
	if err != nil {
		t.Fatal(err)
	}
	members = append(members, unstarted.GetId())
	if _, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: "web", GracePeriod: durationpb.New(time.Second)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		w, err := c.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if e := w.GetExit(); e.GetExitCode() != 137 || !strings.Contains(e.GetMessage(), "pod") {
			t.Errorf("member %s after its pod stopped: %+v, want 137 killed with its pod", id[:12], e)
		}
	}
	if _, err := c.RunDetached(ctx, member("web", "true")); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("joining a stopped pod: %v, want FailedPrecondition", err)
	}
	if _, err := c.Checkpoint(ctx, "web", client.CheckpointOptions{}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("checkpoint of a stopped pod with exited members: %v, want FailedPrecondition", err)
	}

	// The exited pod goes first, its members after: nothing is left.
	if _, err := c.Delete(ctx, "web", false); err != nil {
		t.Fatalf("removing the exited pod: %v", err)
	}
	all, err := c.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range all {
		if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
			t.Fatalf("removing %s: %v", ct.GetName(), err)
		}
	}
	if left := waitNoLeftovers(d, 10*time.Second); len(left) > 0 {
		t.Fatalf("left on the host: %v", left)
	}
	states, _ := filepath.Glob(filepath.Join(d.State, "runsc", "*"))
	for _, s := range states {
		if strings.Contains(s, "_sandbox:") {
			t.Errorf("runsc state left: %s", s)
		}
	}
	for _, id := range append(members, pod.GetId(), side.GetId(), late.GetId()) {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory/nucleus", id)); err == nil {
			t.Errorf("cgroup of %s left", id[:12])
		}
	}
}

// TestE2EPodsOtherUID: a tenant cannot join another uid's pod, by id, id
// prefix or name, nor get there through runsc's own annotations; root, who
// sees every container, cannot join a tenant's pod either. A tenant's own
// pod works, and its member shares the pod's user-namespace range (one
// sandbox, one range) instead of taking a new one.
func TestE2EPodsOtherUID(t *testing.T) {
	d := tenantDaemon(t, "")
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	rootPod, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "rootpod", Args: []string{"/bin/sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	cri := sh("true")
	cri.Annotations = map[string]string{"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": rootPod.GetId()}
	r := asTenant(t, d,
		childCall{Op: "create", Spec: member(rootPod.GetId(), "true")},
		childCall{Op: "create", Spec: member(rootPod.GetId()[:8], "true")},
		childCall{Op: "create", Spec: member("rootpod", "true")},
		childCall{Op: "create", Spec: cri})
	for i, want := range []string{"NotFound", "NotFound", "NotFound", "InvalidArgument"} {
		if r[i].Kind != want {
			t.Errorf("tenant call %d into root's pod: %+v, want %s", i, r[i], want)
		}
	}

	mine := asTenant(t, d, childCall{Op: "create", Spec: &nucleusv1.ContainerSpec{Args: []string{"/bin/sleep", "600"}}}, childCall{Op: "start"})
	if mine[0].Kind != "" || mine[1].Kind != "" {
		t.Fatalf("tenant's pod: %+v", mine)
	}
	tpod := mine[0].ID
	if _, err := c.RunDetached(ctx, member(tpod, "true")); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("root joining a tenant's pod: %v, want PermissionDenied", err)
	}
	m := asTenant(t, d, childCall{Op: "create", Spec: member(tpod, "echo tenant-member; exit 3")}, childCall{Op: "start"})
	if m[0].Kind != "" || m[1].Kind != "" {
		t.Fatalf("tenant's member: %+v", m)
	}
	w, err := c.Wait(ctx, m[0].ID)
	if err != nil || w.GetExit().GetExitCode() != 3 {
		t.Fatalf("tenant's member: %v %+v, want exit 3", err, w.GetExit())
	}
	pod, err := c.Get(ctx, tpod)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := c.Get(ctx, m[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	podMap, memMap := uidMappings(t, pod.GetBundle()), uidMappings(t, mem.GetBundle())
	if podMap == "" || podMap != memMap {
		t.Errorf("user namespace of the tenant's pod %q and of its member %q; want the pod's range, shared", podMap, memMap)
	}
	if u := pod.GetSpec().GetUserNamespace().GetUidMappings(); len(u) == 0 || u[0].GetHostId() == 0 {
		t.Errorf("tenant's pod runs on host ids %v; want a range of its own", u)
	}
}

// uidMappings is the linux.uidMappings of the bundle at dir, as JSON.
func uidMappings(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Linux struct {
			UIDMappings json.RawMessage `json:"uidMappings"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	return string(spec.Linux.UIDMappings)
}

// TestE2ECLIReadmePods runs the README's pods block as written (with
// nucleusctl on PATH): the member reaches the pod's server on localhost,
// the sidecar dies with the pod (137), and the removals leave no record.
func TestE2ECLIReadmePods(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	lines := cliReadmeBlock(t, "Pods: containers that share one gVisor sandbox")
	env := cliTourEnv(t, d)
	wants := 0
	for _, l := range lines {
		var out, errb string
		code := -1
		// The server binds within a moment of its start: the one line
		// that talks to it may run a few times.
		for try := 0; try < 20; try++ {
			cmd := exec.Command("/bin/sh", "-c", l.cmd)
			cmd.Env = env
			out, errb, code = cliRun(t, cmd)
			if code == 0 || !strings.Contains(l.cmd, "wget") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		want := l.want
		if strings.Contains(l.cmd, "wget") {
			want = "ok\n"
		}
		if code != 0 && !strings.Contains(l.cmd, "nucleusctl wait") {
			t.Fatalf("README pods line %q: exit %d, stdout %q, stderr %q", l.cmd, code, out, errb)
		}
		if want != "" {
			wants++
			if out != want {
				t.Errorf("README pods line %q: stdout %q, want %q", l.cmd, out, want)
			}
		}
	}
	if wants != 2 {
		t.Errorf("the README's pods block promised %d outputs; the test expects the wget's and the wait's", wants)
	}
	if left, err := d.Client().List(context.Background(), nil); err != nil || len(left) != 0 {
		t.Errorf("records after the block's rm: %v %v", left, err)
	}
}

// supervisorPid is the pid of container id's supervisor.
func supervisorPid(t *testing.T, d *Daemon, id string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(d.State, "supervisors", id, "supervisor.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestE2EPodsSupervisorKill9: kill -9 of the pod's supervisor leaves the
// sandbox running and every member's own supervisor recording its exit;
// ending the unsupervised pod still ends its members, with the reason;
// kill -9 of a member's supervisor touches neither the pod nor the other
// members. Nothing is left once all are removed.
func TestE2EPodsSupervisorKill9(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	pod, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "p", Args: []string{"/bin/sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(script string) string {
		t.Helper()
		m, err := c.RunDetached(ctx, member("p", script))
		if err != nil {
			t.Fatal(err)
		}
		return m.GetId()
	}
	waiter, short, orphan := run("sleep 600"), run("sleep 2; exit 4"), run("sleep 600")

	kill9 := func(id string) {
		t.Helper()
		pid := supervisorPid(t, d, id)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if !waitFor(10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil || isZombie(pid) }) {
			t.Fatalf("supervisor %d outlived SIGKILL", pid)
		}
	}
	kill9(orphan)
	kill9(pod.GetId())
	w, err := c.Wait(ctx, short)
	if err != nil || w.GetExit().GetExitCode() != 4 {
		t.Fatalf("member after its pod's supervisor died: %v %+v, want its own exit 4", err, w.GetExit())
	}
	if got, err := c.Get(ctx, waiter); err != nil || got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("the other member: %v %v, want running", got.GetState(), err)
	}
	if err := c.Kill(ctx, pod.GetId(), uint32(syscall.SIGKILL)); err != nil {
		t.Fatal(err)
	}
	w, err = c.Wait(ctx, waiter)
	if err != nil || w.GetExit().GetExitCode() != 137 || !strings.Contains(w.GetExit().GetMessage(), "pod") {
		t.Fatalf("member of the killed unsupervised pod: %v %+v, want 137 killed with its pod", err, w.GetExit())
	}
	recWaitState(t, c, pod.GetId(), recExited, 30*time.Second)
	recWaitState(t, c, orphan, recExited, 30*time.Second)
	for _, id := range []string{pod.GetId(), waiter, short, orphan} {
		if _, err := c.Delete(ctx, id, true); err != nil {
			t.Fatalf("remove %s: %v", id[:12], err)
		}
	}
	if left := waitNoLeftovers(d, 20*time.Second); len(left) > 0 {
		t.Fatalf("left on the host: %v", left)
	}
}

// TestE2EPodsImageMember: a member can run from an image (its own rootfs
// and writable layer inside the pod's sandbox) in a pod that runs host
// binaries, and the pod's files are not the member's.
func TestE2EPodsImageMember(t *testing.T) {
	testutil.E2E(t)
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	ctlOK(t, d, "", "image", "import", ociLayoutTar(t, appImage(t), "example.com/app:v1"))
	ctlOK(t, d, "", "run", "-d", "--name", "hostpod", "/bin/sh", "-c", "echo pod > /tmp/owner; exec sleep 600")
	got := ctlOK(t, d, "", "run", "--rm", "--pod", "hostpod", "--pull", "never", "--entrypoint", "",
		"example.com/app:v1", "/bin/sh", "-c", "echo layer > /home/app/w && cat /home/app/w; pwd; cat /tmp/owner 2>/dev/null || echo no-pod-file")
	if got != "layer\n/home/app\nno-pod-file\n" {
		t.Errorf("image member: %q, want its own writable layer, the image's workdir, and none of the pod's files", got)
	}
	ctlOK(t, d, "", "rm", "-f", "hostpod")
	if left := waitNoLeftovers(d, 20*time.Second); len(left) > 0 {
		t.Fatalf("left on the host: %v", left)
	}
}

// TestE2EPodsFlood: 24 members run into one pod at once, each with its own
// exit code and output; then a stop of the pod with 12 more running ends
// them all, and nothing is left.
func TestE2EPodsFlood(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 3*time.Minute)
	if _, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "busy", Args: []string{"/bin/sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	const n = 24
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			var out bytes.Buffer
			spec := member("busy", fmt.Sprintf("echo member-%d; exit %d", i, i))
			spec.AutoRemove = true
			st, _, err := c.Run(ctx, spec, client.RunOptions{Stdout: &out})
			switch {
			case err != nil:
				errs <- err
			case st.GetExitCode() != int32(i) || out.String() != fmt.Sprintf("member-%d\n", i):
				errs <- fmt.Errorf("member %d: exit %d output %q", i, st.GetExitCode(), out.String())
			default:
				errs <- nil
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	var ids []string
	for i := 0; i < n/2; i++ {
		m, err := c.RunDetached(ctx, member("busy", "sleep 600"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.GetId())
	}
	if _, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: "busy", GracePeriod: durationpb.New(time.Second)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if w, err := c.Wait(ctx, id); err != nil || w.GetExit().GetExitCode() != 137 {
			t.Errorf("member %s after its pod stopped: %v %+v", id[:12], err, w.GetExit())
		}
	}
	all, err := c.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range all {
		if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
			t.Fatal(err)
		}
	}
	if left := waitNoLeftovers(d, 20*time.Second); len(left) > 0 {
		t.Fatalf("left on the host: %v", left)
	}
}

// TestE2EPodsHostileInput: pod names that are malformed or oversized are
// refused without a trace; a caller that cancels its Run of a member
// leaves the member running to its own exit, recorded.
func TestE2EPodsHostileInput(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	if _, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "pp", Args: []string{"/bin/sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	for what, pod := range map[string]string{
		"a path":          "../pp",
		"a NUL":           "pp\x00",
		"a glob":          "p*",
		"128 KiB of name": strings.Repeat("p", 128<<10),
	} {
		if _, err := c.RunDetached(ctx, member(pod, "true")); !errors.Is(err, errdefs.ErrNotFound) && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("pod named with %s: %v, want NotFound or InvalidArgument", what, err)
		}
	}
	if all, err := c.List(ctx, nil); err != nil || len(all) != 1 {
		t.Fatalf("records after the refused members: %d %v, want the pod only", len(all), err)
	}

	// A Run whose caller goes away once the member exists.
	rctx, cancel := context.WithCancel(ctx)
	started := make(chan struct{})
	var out lockedBuffer
	done := make(chan string, 1)
	go func() {
		_, id, _ := c.Run(rctx, member("pp", "echo begun; sleep 1; echo finished; exit 9"), client.RunOptions{Stdout: writerFunc(func(p []byte) (int, error) {
			if strings.Contains(string(p), "begun") {
				select {
				case <-started:
				default:
					close(started)
				}
			}
			return out.Write(p)
		})})
		done <- id
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the member never started")
	}
	cancel()
	id := <-done
	w, err := c.Wait(ctx, id)
	if err != nil || w.GetExit().GetExitCode() != 9 {
		t.Fatalf("member whose Run was cancelled: %v %+v, want its own exit 9", err, w.GetExit())
	}
	if lines, err := recStdoutLines(ctx, c, id); err != nil || strings.Join(lines, "|") != "begun|finished" {
		t.Errorf("member's log after its caller left: %q %v", lines, err)
	}
}

// TestE2EPodsFullDisk: on a full disk a new member is refused up front
// (naming the floor) while the pod and its running member go on; once
// space returns, members join again.
func TestE2EPodsFullDisk(t *testing.T) {
	root := smallRoot(t, "64m")
	d := NewDaemon(t, DaemonOptions{Config: "[limits]\nmin_free_disk = \"8m\"\n"})
	d.Root = root
	d.Start()
	t.Cleanup(func() { unmountNullNetNS(d) })
	c := d.Client()
	ctx := ctxT(t, 2*time.Minute)
	if _, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Name: "fp", Args: []string{"/bin/sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	side, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Pod: "fp", Args: []string{"/bin/sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	free := fillDisk(t, root)
	if _, err := c.Create(ctx, member("fp", "true")); !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "min_free_disk") {
		t.Errorf("member create on a full disk: %v; want ResourceExhausted naming [limits] min_free_disk", err)
	}
	for _, id := range []string{"fp", side.GetId()} {
		if got, err := c.Get(ctx, id); err != nil || got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
			t.Errorf("%s on the full disk: %v %v, want running", id, got.GetState(), err)
		}
	}
	free()
	st, _, out := runMember(t, c, ctx, member("fp", "echo after; exit 3"))
	if st.GetExitCode() != 3 || out != "after\n" {
		t.Errorf("member once space returned: exit %d %q, want 3 after", st.GetExitCode(), out)
	}
}
