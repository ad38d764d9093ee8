package core

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
)

// TestWireCacheFollowsTheStore: List's pre-encoded containers decode to
// exactly what toAPI makes of the current records (or its summary), after
// updates and removals too (a stale entry would show an old state), in
// whichever order the two views are asked for.
func TestWireCacheFollowsTheStore(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("%032x", i+1)
		ids = append(ids, id)
		c := &store.Container{
			ID: id, Name: fmt.Sprintf("c%d", i), State: nucleusv1.ContainerState_CONTAINER_STATE_RUNNING,
			Spec: &nucleusv1.ContainerSpec{Args: []string{"/bin/sleep", fmt.Sprint(i)}}, CreatedAt: time.Now().UTC(),
			Labels: map[string]string{"n": fmt.Sprint(i)}, Timeout: time.Minute, BundleDir: "/b/" + id,
		}
		if err := st.CreateContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	var w wireCache
	check := func(what string, want int, summary bool) []byte {
		t.Helper()
		recs, err := st.ViewContainers(func(*store.Container) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		wire, err := w.wire(recs, summary)
		if err != nil {
			t.Fatal(err)
		}
		var got nucleusv1.ListResponse
		if err := proto.Unmarshal(wire, &got); err != nil {
			t.Fatalf("%s: decoding: %v", what, err)
		}
		if len(got.GetContainers()) != want || len(recs) != want {
			t.Fatalf("%s: %d containers decoded, %d records; want %d", what, len(got.GetContainers()), len(recs), want)
		}
		for i, c := range recs {
			want := toAPI(c)
			if summary {
				want = summarize(want)
				g := got.GetContainers()[i]
				if !proto.Equal(g.GetSpec(), &nucleusv1.ContainerSpec{Args: c.Spec.GetArgs()}) || g.GetBundle() != "" ||
					g.GetLabels()["n"] != c.Labels["n"] || g.GetState() != c.State || g.GetCreatedAt() == nil {
					t.Fatalf("%s: summary of container %d is %v", what, i, g)
				}
			}
			if !proto.Equal(got.GetContainers()[i], want) {
				t.Fatalf("%s: container %d decodes to %v, want %v", what, i, got.GetContainers()[i], want)
			}
		}
		// What the daemon sends is this wire as a message's unknown fields.
		resp := &nucleusv1.ListResponse{}
		resp.ProtoReflect().SetUnknown(wire)
		out, err := proto.Marshal(resp)
		if err != nil || string(out) != string(wire) {
			t.Fatalf("%s: the response encodes to %d bytes (%v), want the %d of its containers", what, len(out), err, len(wire))
		}
		return wire
	}
	first := check("fresh", 3, false)
	if again := check("unchanged", 3, false); string(again) != string(first) {
		t.Fatal("unchanged records encode differently")
	}
	summary := check("fresh summary", 3, true)
	if len(summary) >= len(first) {
		t.Fatalf("the summary view is %d bytes, the full one %d", len(summary), len(first))
	}
	if _, err := st.UpdateContainer(ids[1], func(c *store.Container) error {
		c.State = nucleusv1.ContainerState_CONTAINER_STATE_EXITED
		c.Exit = &store.Exit{Code: 3, Reason: "exited"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if updated := check("summary after an update", 3, true); string(updated) == string(summary) {
		t.Fatal("an updated record is summarized as it was")
	}
	if updated := check("after an update", 3, false); string(updated) == string(first) {
		t.Fatal("an updated record is listed as it was")
	}
	if err := st.DeleteContainer(ids[0]); err != nil {
		t.Fatal(err)
	}
	check("after a removal", 2, false)
	check("summary after a removal", 2, true)
}
