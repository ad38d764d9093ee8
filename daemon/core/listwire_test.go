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
// exactly what toAPI makes of the current records, after updates and
// removals too (a stale entry would show an old state).
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
			Labels: map[string]string{"n": fmt.Sprint(i)}, Timeout: time.Minute,
		}
		if err := st.CreateContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	var w wireCache
	check := func(what string, want int) []byte {
		t.Helper()
		recs, err := st.ViewContainers(func(*store.Container) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		wire, err := w.appendWire(nil, recs)
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
			if !proto.Equal(got.GetContainers()[i], toAPI(c)) {
				t.Fatalf("%s: container %d decodes to %v, want %v", what, i, got.GetContainers()[i], toAPI(c))
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
	first := check("fresh", 3)
	if again := check("unchanged", 3); string(again) != string(first) {
		t.Fatal("unchanged records encode differently")
	}
	if _, err := st.UpdateContainer(ids[1], func(c *store.Container) error {
		c.State = nucleusv1.ContainerState_CONTAINER_STATE_EXITED
		c.Exit = &store.Exit{Code: 3, Reason: "exited"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if updated := check("after an update", 3); string(updated) == string(first) {
		t.Fatal("an updated record is listed as it was")
	}
	if err := st.DeleteContainer(ids[0]); err != nil {
		t.Fatal(err)
	}
	check("after a removal", 2)
}
