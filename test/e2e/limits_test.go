package e2e

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// tenantDaemon starts a daemon whose socket group is nogroup, so that
// asUser(nobody, nogroup) is a second tenant beside root.
func tenantDaemon(t *testing.T, extra string) *Daemon {
	t.Helper()
	d := StartDaemon(t, DaemonOptions{Config: "[api]\nsocket_group = \"nogroup\"\n" + extra})
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return d
}

func asTenant(t *testing.T, d *Daemon, calls ...childCall) []childResult {
	t.Helper()
	return asUser(t, d.Socket, nobody, nogroup, []uint32{nogroup}, calls...)
}

// cgroupValue reads one host cgroup v1 file of a container's sandbox.
func cgroupValue(t *testing.T, controller, id, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, "nucleus", id, file))
	if err != nil {
		t.Fatalf("the sandbox's host cgroup: %v", err)
	}
	return strings.TrimSpace(string(data))
}

// TestE2ELimitsCeilings: memory above [limits] max_memory is refused at
// run (CLI), create (a tenant and root) and update, naming the ceiling; an
// update above max_memory or above the host's CPUs leaves the host cgroup
// as it was; with max_timeout set, no timeout is refused and timeout 0
// gets the daemon's default.
func TestE2ELimitsCeilings(t *testing.T) {
	d := tenantDaemon(t, "[limits]\nmax_memory = \"1g\"\nmax_timeout = \"1h\"\n[defaults]\ntimeout = \"30m\"\n")
	c := d.Client()
	ctx := ctxT(t, 90*time.Second)
	const memRefusal = "memory 2g exceeds the operator's ceiling [limits] max_memory = 1g"

	_, stderr, code := d.CtlRun("", "run", "--rm", "--memory", "2g", "/bin/true")
	if code == 0 || !strings.Contains(stderr, memRefusal) {
		t.Errorf("run --memory 2g: exit %d, stderr %q; want a refusal naming the ceiling", code, stderr)
	}
	big := sh("true")
	big.Resources = &nucleusv1.Resources{MemoryBytes: 2 << 30}
	noTimeout := sh("true")
	noTimeout.NoTimeout = true
	long := sh("true")
	long.Timeout = durationpb.New(2 * time.Hour)
	for name, spec := range map[string]*nucleusv1.ContainerSpec{"memory 2g": big, "no timeout": noTimeout, "timeout 2h": long} {
		want := "max_timeout"
		if spec == big {
			want = memRefusal
		}
		if _, err := c.Create(ctx, spec); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), want) {
			t.Errorf("root create with %s: %v; want InvalidArgument naming %s", name, err, want)
		}
		r := asTenant(t, d, childCall{Op: "create", Spec: spec})
		if r[0].Kind != "InvalidArgument" || !strings.Contains(r[0].Error, want) {
			t.Errorf("tenant create with %s: %+v; want InvalidArgument naming %s", name, r[0], want)
		}
	}
	if list, _ := c.List(ctx, nil); len(list) != 0 {
		t.Fatalf("refused creates left %d records", len(list))
	}

	// An explicit timeout of 0 is the daemon's default, not "none".
	zero := sh("true")
	zero.Timeout = durationpb.New(0)
	ct, err := c.Create(ctx, zero)
	if err != nil {
		t.Fatal(err)
	}
	if got := ct.GetSpec().GetTimeout().AsDuration(); got != 30*time.Minute {
		t.Errorf("timeout 0 became %s, want the default 30m", got)
	}
	if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
		t.Fatal(err)
	}

	// Update: refused above the ceilings with nothing written to the host.
	ct = running(t, c, ctx, "sleep 60")
	mem0, quota0 := cgroupValue(t, "memory", ct.GetId(), "memory.limit_in_bytes"), cgroupValue(t, "cpu", ct.GetId(), "cpu.cfs_quota_us")
	if mem0 != "536870912" {
		t.Fatalf("memory.limit_in_bytes = %s, want the default 512m", mem0)
	}
	if quota0 != "100000" {
		t.Fatalf("cpu.cfs_quota_us = %s, want the default 1 CPU (100000 per 100000 us)", quota0)
	}
	for _, u := range []struct {
		res  *nucleusv1.Resources
		want string
	}{
		{&nucleusv1.Resources{MemoryBytes: 2 << 30, Cpus: 1}, memRefusal},
		{&nucleusv1.Resources{MemoryBytes: 100000 << 30}, "memory 100000g exceeds the operator's ceiling [limits] max_memory = 1g"},
		{&nucleusv1.Resources{Cpus: 500}, "cpus 500 exceeds the operator's ceiling [limits] max_cpus = "},
		{&nucleusv1.Resources{Cpus: math.Inf(1)}, "not a number of CPUs"},
	} {
		_, err := c.Update(ctx, ct.GetId(), u.res)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), u.want) {
			t.Errorf("update %v: %v; want InvalidArgument with %q", u.res, err, u.want)
		}
		if m, q := cgroupValue(t, "memory", ct.GetId(), "memory.limit_in_bytes"), cgroupValue(t, "cpu", ct.GetId(), "cpu.cfs_quota_us"); m != mem0 || q != quota0 {
			t.Errorf("refused update %v changed the host cgroup: memory %s → %s, quota %s → %s", u.res, mem0, m, quota0, q)
		}
	}
	r := asTenant(t, d, childCall{Op: "create", Spec: sh("sleep 60")})
	if r[0].Kind != "" {
		t.Fatalf("tenant create: %+v", r[0])
	}
	r = asTenant(t, d, childCall{Op: "update", ID: r[0].ID, Resources: &nucleusv1.Resources{MemoryBytes: 2 << 30}})
	if r[0].Kind != "InvalidArgument" || !strings.Contains(r[0].Error, memRefusal) {
		t.Errorf("tenant update of its own container to 2g: %+v", r[0])
	}
	// Within the ceilings the update reaches the cgroup (so the reads
	// above look at the right files).
	if _, err := c.Update(ctx, ct.GetId(), &nucleusv1.Resources{MemoryBytes: 1 << 30, Cpus: 0.5}); err != nil {
		t.Fatal(err)
	}
	if m, q := cgroupValue(t, "memory", ct.GetId(), "memory.limit_in_bytes"), cgroupValue(t, "cpu", ct.GetId(), "cpu.cfs_quota_us"); m != "1073741824" || q != "50000" {
		t.Errorf("update to 1g, 0.5 CPUs: memory %s, quota %s", m, q)
	}
}

// TestE2ENoTimeoutWithoutCeiling: with no max_timeout, no_timeout is
// accepted and the container runs with no timeout although the default
// is one; nucleusctl --timeout 0 asks for exactly that.
func TestE2ENoTimeoutWithoutCeiling(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[defaults]\ntimeout = \"2s\"\n"})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	out, stderr, code := d.CtlRun("", "run", "-d", "--timeout", "0", "--", "/bin/sh", "-c", "sleep 30")
	if code != 0 {
		t.Fatalf("run -d --timeout 0: exit %d, %s", code, stderr)
	}
	id := strings.TrimSpace(out)
	defaulted := running(t, c, ctx, "sleep 30")
	time.Sleep(4 * time.Second)
	got, err := c.Get(ctx, id)
	if err != nil || got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING || !got.GetSpec().GetNoTimeout() {
		t.Errorf("--timeout 0 after 4 s (default 2 s): %v %v; want running with no_timeout", got.GetState(), err)
	}
	if got, err := c.Get(ctx, defaulted.GetId()); err != nil || got.GetExit().GetReason() != "timeout" {
		t.Errorf("the default 2 s timeout: %v %v; want exit reason timeout", got.GetExit(), err)
	}
}

// TestE2ETenantNamesAndInfo: a tenant cannot take a name that reads as an
// id, learns no id of root's from a name collision, cannot shadow root's
// id prefix with a name, and Info counts only its own containers.
func TestE2ETenantNamesAndInfo(t *testing.T) {
	d := tenantDaemon(t, "")
	c := d.Client()
	ctx := ctxT(t, 90*time.Second)
	rootSpec := sh("sleep 60")
	rootSpec.Name = "rootbox"
	rootCt, err := c.RunDetached(ctx, rootSpec)
	if err != nil {
		t.Fatal(err)
	}
	rid := rootCt.GetId()
	if _, err := c.Create(ctx, sh("true")); err != nil { // an exited-to-be second one of root's
		t.Fatal(err)
	}
	taken := sh("true")
	taken.Name = "rootbox"
	hexName, short4, short11 := sh("sleep 60"), sh("sleep 60"), sh("sleep 60")
	hexName.Name, short4.Name, short11.Name = rid[:12], rid[:4], rid[:11]
	r := asTenant(t, d,
		childCall{Op: "create", Spec: hexName},
		childCall{Op: "create", Spec: taken},
		childCall{Op: "create", Spec: short4},
		childCall{Op: "create", Spec: short11},
		childCall{Op: "get", ID: rid[:4]},
		childCall{Op: "info"},
	)
	if r[0].Kind != "InvalidArgument" || !strings.Contains(r[0].Error, "looks like a container id") {
		t.Errorf("tenant name %s (hex, 12): %+v, want InvalidArgument", rid[:12], r[0])
	}
	if r[1].Kind != "AlreadyExists" || strings.Contains(r[1].Error, rid[:4]) {
		t.Errorf("tenant takes root's name: %+v; want AlreadyExists without root's id", r[1])
	}
	if r[2].Kind != "" || r[3].Kind != "" {
		t.Fatalf("tenant names %s, %s (short hex): %+v %+v", rid[:4], rid[:11], r[2], r[3])
	}
	if r[4].Kind != "" || r[4].ID != r[2].ID {
		t.Errorf("tenant get %s: %+v; want its own container %s (by name)", rid[:4], r[4], r[2].ID)
	}
	if r[5].Containers != 2 || r[5].StateCounts["CONTAINER_STATE_CREATED"] != 2 || r[5].StateCounts["CONTAINER_STATE_RUNNING"] != 0 {
		t.Errorf("tenant info: %d containers, %v; want its own 2 created ones only", r[5].Containers, r[5].StateCounts)
	}

	// Root's own name collision names the holder; root's prefixes reach
	// root's container, never the tenant's of that name.
	if _, err := c.Create(ctx, taken); !errors.Is(err, errdefs.ErrAlreadyExists) || !strings.Contains(err.Error(), rid) {
		t.Errorf("root takes its own name: %v; want AlreadyExists with the holder's id", err)
	}
	for _, p := range []string{rid[:4], rid[:11]} {
		if got, err := c.Get(ctx, p); err != nil || got.GetId() != rid {
			t.Errorf("root get %s: %v %v; want root's %s", p, got.GetId(), err, rid)
		}
		out, stderr, code := d.CtlRun("", "exec", p, "uname", "-n")
		if code != 0 || strings.TrimSpace(out) != rid[:12] {
			t.Errorf("root exec %s: %q %q exit %d; want root's sandbox (hostname %s)", p, out, stderr, code, rid[:12])
		}
		if _, stderr, code := d.CtlRun("", "logs", p); code != 0 {
			t.Errorf("root logs %s: exit %d, %s", p, code, stderr)
		}
	}
	info, err := c.Info(ctx)
	if err != nil || info.GetContainers() != 4 {
		t.Errorf("root info: %d containers, %v; want all 4", info.GetContainers(), err)
	}
}

// TestE2EEventsSinceMaxUint64: a since beyond the newest sequence replays
// nothing and gives no pruned warning; the next event comes live.
func TestE2EEventsSinceMaxUint64(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 60*time.Second)
	for range 2 {
		ct, err := c.Create(ctx, sh("true"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Delete(ctx, ct.GetId(), true); err != nil {
			t.Fatal(err)
		}
	}
	since := uint64(math.MaxUint64)
	got := make(chan *nucleusv1.EventsResponse, 16)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = c.Events(sctx, &nucleusv1.EventsRequest{SinceSequence: &since}, func(r *nucleusv1.EventsResponse) error {
			got <- r
			return nil
		})
		close(got)
	}()
	select {
	case r := <-got:
		t.Fatalf("since MaxUint64 replayed %v (pruned %v)", r.GetEvent(), r.GetEventsLost())
	case <-time.After(time.Second):
	}
	ct, err := c.Create(ctx, sh("true"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.GetEvent().GetContainerId() != ct.GetId() || r.GetEvent().GetType() != nucleusv1.EventType_EVENT_TYPE_CREATED || r.GetEventsLost() {
			t.Errorf("first event after since MaxUint64: %v (pruned %v); want the new CREATED", r.GetEvent(), r.GetEventsLost())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no live event after since MaxUint64")
	}
	out, stderr, _ := d.CtlRun("", "--timeout", "2s", "events", "--since", "18446744073709551615")
	if strings.Contains(stderr, "pruned") || out != "" {
		t.Errorf("nucleusctl events --since MaxUint64 printed %q, warned %q; want nothing replayed, no warning", out, stderr)
	}
}
