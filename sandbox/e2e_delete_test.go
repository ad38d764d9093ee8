package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/sandbox/internal/testbundle"
)

// TestE2EDeleteAll deletes several containers with one call: exited ones,
// a running one and one whose runsc state is already gone (runsc's own
// delete stops at the first id it does not know and reports success, so
// the ones after it must still go). Nothing of any of them may be left.
func TestE2EDeleteAll(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := 0; i < 4; i++ {
		script := "exit 3"
		if i == 3 {
			script = "sleep 60"
		}
		id, _, _ := e.run(script, CreateOptions{}, testbundle.Options{})
		ids = append(ids, id)
	}
	for _, id := range ids[:3] {
		if ex := e.wait(id, 30*time.Second); ex.ExitCode != 3 {
			t.Fatalf("%s exited %+v, want 3", id, ex)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The second one's runsc state goes first, behind the manager's back.
	if err := e.m.runsc.Delete(ctx, ids[1], true); err != nil {
		t.Fatal(err)
	}
	if e.m.runsc.HasState(ids[1]) || !e.m.runsc.HasState(ids[2]) {
		t.Fatalf("HasState after deleting %s: %v, %s: %v", ids[1], e.m.runsc.HasState(ids[1]), ids[2], e.m.runsc.HasState(ids[2]))
	}
	begin := time.Now()
	errs := e.m.DeleteAll(ctx, ids, DeleteOptions{Force: true})
	t.Logf("DeleteAll of %d containers: %v", len(ids), time.Since(begin))
	for i, err := range errs {
		if err != nil {
			t.Errorf("delete %s: %v", ids[i], err)
		}
	}
	for _, id := range ids {
		e.assertGone(id)
	}
}

// TestE2EDeleteRemovesALeftCgroup: a create that failed before runsc wrote
// any state leaves its host cgroup (runsc removes it only when it destroys
// a sandbox it knows); Delete removes it from every hierarchy, using the
// bundle's cgroupsPath, and leaves other cgroups alone.
func TestE2EDeleteRemovesALeftCgroup(t *testing.T) {
	e := newEnv(t)
	id := e.bundle(testbundle.Options{Args: []string{"/bin/true"}})
	other := e.bundle(testbundle.Options{Args: []string{"/bin/true"}})
	var made []string
	for _, h := range []string{"memory", "pids", ""} {
		root := filepath.Join("/sys/fs/cgroup", h)
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
			continue // not a hierarchy here (v1 vs v2)
		}
		for _, cid := range []string{id, other} {
			dir := filepath.Join(root, cgroupParent, cid)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			made = append(made, dir)
			t.Cleanup(func() { _ = os.Remove(dir) })
		}
	}
	if len(made) == 0 {
		t.Fatal("no cgroup hierarchy found under /sys/fs/cgroup")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.m.Delete(ctx, id, DeleteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.assertGone(id)
	for _, dir := range made {
		_, err := os.Stat(dir)
		switch filepath.Base(dir) {
		case id:
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cgroup %s left after delete (%v)", dir, err)
			}
		case other:
			if err != nil {
				t.Errorf("the cgroup of another container went: %v", err)
			}
		}
	}
}

// TestE2EDeleteOldLayoutBundle: containers made by a daemon that kept
// bundles in <root>/containers/<id>/bundle (before they moved to the
// state directory) are deleted with nothing left by the new one: a
// running one (its bundle, its directory), and one whose create failed
// before runsc wrote state (the cgroup named in that bundle's config.json).
func TestE2EDeleteOldLayoutBundle(t *testing.T) {
	e := newEnv(t)
	oldLayout := func(args ...string) (string, Paths) {
		id, err := NewID()
		if err != nil {
			t.Fatal(err)
		}
		e.ids = append(e.ids, id)
		p := e.m.Paths(id)
		if err := os.MkdirAll(p.Container, 0o700); err != nil {
			t.Fatal(err)
		}
		o := testbundle.Options{Args: args, CgroupsPath: "/" + cgroupParent + "/" + id}
		if err := testbundle.Write(p.OldBundle, o); err != nil {
			t.Fatal(err)
		}
		return id, p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	running, p := oldLayout("/bin/sleep", "600")
	st, err := e.m.Create(ctx, running, CreateOptions{Bundle: p.OldBundle, Start: true})
	if err != nil || st.State != specs.StateRunning {
		t.Fatalf("create from the old layout: %+v, %v", st, err)
	}
	if _, err := os.Stat(p.Bundle); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a bundle in the new place too: %v", err)
	}
	if err := e.m.Delete(ctx, running, DeleteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.assertGone(running)

	failed, _ := oldLayout("/bin/true")
	cg := filepath.Join("/sys/fs/cgroup/pids", cgroupParent, failed)
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(cg) })
	if err := e.m.Delete(ctx, failed, DeleteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.assertGone(failed)
	if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cgroup named by the old bundle is left: %v", err)
	}
}
