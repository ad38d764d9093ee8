package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

func TestContainerLifecycle(t *testing.T) {
	s := openTest(t, "", Options{})
	c := testContainer(0, "web")
	if err := s.CreateContainer(c); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{c.ID, "web"} {
		got, err := s.GetContainer(key)
		if err != nil || got.ID != c.ID {
			t.Fatalf("GetContainer(%q) = %v, %v", key, got, err)
		}
	}
	if err := s.CreateContainer(testContainer(0, "other")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("duplicate id: %v, want AlreadyExists", err)
	}
	if err := s.CreateContainer(testContainer(1, "web")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("duplicate name: %v, want AlreadyExists", err)
	}
	got, err := s.UpdateContainer(c.ID, func(c *Container) error {
		c.State, c.Pid, c.CreateStep = nucleusv1.ContainerState_CONTAINER_STATE_RUNNING, 42, StepComplete
		return nil
	})
	if err != nil || got.Pid != 42 {
		t.Fatalf("UpdateContainer = %v, %v", got, err)
	}
	if again, _ := s.GetContainer("web"); again.State != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING || again.Pid != 42 {
		t.Errorf("after update: %+v", again)
	}
	sentinel := errors.New("abort")
	if _, err := s.UpdateContainer(c.ID, func(c *Container) error { c.Pid = 7; return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("UpdateContainer(fn error) = %v", err)
	}
	if again, _ := s.GetContainer(c.ID); again.Pid != 42 {
		t.Errorf("a failed update was kept: pid %d", again.Pid)
	}
	if _, err := s.UpdateContainer(c.ID, func(c *Container) error { c.Name = "renamed"; return nil }); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("rename through update: %v, want InvalidArgument", err)
	}
	if err := s.DeleteContainer(c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetContainer("web"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("after delete: %v, want NotFound", err)
	}
	if err := s.DeleteContainer(c.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("second delete: %v, want NotFound", err)
	}
	if _, err := s.UpdateContainer(c.ID, func(*Container) error { return nil }); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("update after delete: %v, want NotFound", err)
	}
	if err := s.CreateContainer(testContainer(1, "web")); err != nil {
		t.Errorf("name not freed by delete: %v", err)
	}
}

func TestCreateRejectsBadKeys(t *testing.T) {
	s := openTest(t, "", Options{})
	for _, c := range []*Container{
		{ID: "short", Name: "a"},
		{ID: "ABCDEF0123456789ABCDEF0123456789", Name: "a"},
		{ID: testID(0), Name: ""},
		{ID: testID(0), Name: "../x"},
		{ID: testID(0), Name: testID(5)},
	} {
		if err := s.CreateContainer(c); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("CreateContainer(id %q, name %q) = %v, want InvalidArgument", c.ID, c.Name, err)
		}
	}
}

// TestConcurrentCreateSameName: of 50 concurrent creates of one name,
// exactly one wins and the rest get AlreadyExists.
func TestConcurrentCreateSameName(t *testing.T) {
	s := openTest(t, "", Options{})
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateContainer(testContainer(i, "same"))
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errdefs.ErrAlreadyExists):
			t.Errorf("create %d: %v, want AlreadyExists", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates won, want exactly 1", won)
	}
	if all, _ := s.ListContainers(nil); len(all) != 1 {
		t.Errorf("%d records, want 1", len(all))
	}
}

func TestLimitsAndCounts(t *testing.T) {
	s := openTest(t, "", Options{MaxContainers: 3, MaxContainersPerOwner: 2})
	for i := range 2 {
		if err := s.CreateContainer(testContainer(i, fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateContainer(testContainer(2, "c2")); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("third for one owner: %v, want ResourceExhausted", err)
	}
	other := testContainer(3, "c3")
	other.OwnerUID = 2000
	if err := s.CreateContainer(other); err != nil {
		t.Fatal(err)
	}
	other = testContainer(4, "c4")
	other.OwnerUID = 3000
	if err := s.CreateContainer(other); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("fourth overall: %v, want ResourceExhausted", err)
	}
	if n, err := s.CountByOwner(1000); err != nil || n != 2 {
		t.Errorf("CountByOwner(1000) = %d, %v; want 2", n, err)
	}
	if n, _ := s.CountByOwner(2000); n != 1 {
		t.Errorf("CountByOwner(2000) = %d, want 1", n)
	}
	if err := s.DeleteContainer(testID(0)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountByOwner(1000); n != 1 {
		t.Errorf("CountByOwner(1000) after delete = %d, want 1", n)
	}
}

func TestListOrderAndFilter(t *testing.T) {
	s := openTest(t, "", Options{})
	for _, i := range []int{3, 1, 2} {
		c := testContainer(i, fmt.Sprintf("c%d", i))
		c.Labels = map[string]string{"odd": fmt.Sprint(i%2 == 1)}
		if err := s.CreateContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListContainers(nil)
	if err != nil || len(all) != 3 || all[0].Name != "c1" || all[2].Name != "c3" {
		t.Fatalf("ListContainers(nil) = %v, %v", all, err)
	}
	odd, _ := s.ListContainers(func(c *Container) bool { return c.Labels["odd"] == "true" })
	if len(odd) != 2 {
		t.Errorf("filtered list has %d records, want 2", len(odd))
	}
}

func TestSecretDataNeverStored(t *testing.T) {
	s := openTest(t, "", Options{})
	c := testContainer(0, "sec")
	c.Spec.Secrets = []*nucleusv1.Secret{{Name: "tok", Data: []byte("hunter2"), Destination: "/run/secrets/tok", Mode: 0o400}}
	if err := s.CreateContainer(c); err != nil {
		t.Fatal(err)
	}
	if string(c.Spec.Secrets[0].Data) != "hunter2" {
		t.Error("CreateContainer modified the caller's spec")
	}
	got, _ := s.GetContainer("sec")
	want := &nucleusv1.Secret{Name: "tok", Destination: "/run/secrets/tok", Mode: 0o400}
	if !proto.Equal(got.Spec.Secrets[0], want) {
		t.Errorf("stored secret = %v, want %v", got.Spec.Secrets[0], want)
	}
	_ = s.view(func(tx *boltTx) error {
		if raw := bucket(tx, bucketContainers).Get([]byte(c.ID)); containsBytes(raw, "hunter2") || containsBytes(raw, "aHVudGVyMg") {
			t.Error("secret data reached the database")
		}
		return nil
	})
}

// TestCachedRecordsAreCopies: what a caller does to a returned record never
// reaches the store or other callers, and updates are seen at once.
func TestCachedRecordsAreCopies(t *testing.T) {
	s := openTest(t, "", Options{})
	c := testContainer(1, "cached")
	c.Labels = map[string]string{"k": "v"}
	if err := s.CreateContainer(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetContainer("cached")
	if err != nil {
		t.Fatal(err)
	}
	got.Labels["k"] = "changed"
	got.Spec.Args = append(got.Spec.Args, "changed")
	got.State = nucleusv1.ContainerState_CONTAINER_STATE_EXITED
	again, _ := s.GetContainer("cached")
	list, _ := s.ListContainers(nil)
	for _, r := range []*Container{again, list[0]} {
		if r.Labels["k"] != "v" || slices.Contains(r.Spec.GetArgs(), "changed") || r.State == nucleusv1.ContainerState_CONTAINER_STATE_EXITED {
			t.Fatalf("a caller's change reached the store: %+v", r)
		}
	}
	if _, err := s.UpdateContainer(c.ID, func(r *Container) error { r.Labels["k"] = "new"; return nil }); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetContainer(c.ID); r.Labels["k"] != "new" {
		t.Fatalf("update not seen: %v", r.Labels)
	}
	if _, err := s.UpdateContainer(c.ID, func(r *Container) error { r.Labels["k"] = "aborted"; return errors.New("abort") }); err == nil {
		t.Fatal("aborted update succeeded")
	}
	if r, _ := s.GetContainer(c.ID); r.Labels["k"] != "new" {
		t.Fatalf("an aborted update reached the cache: %v", r.Labels)
	}
	// A copy from ListContainers is the caller's too.
	list, _ = s.ListContainers(nil)
	list[0].Labels["k"] = "listed"
	// ViewContainers shares the store's copy (no clone per List) and sees
	// updates, which replace it rather than change it.
	view1, _ := s.ViewContainers(nil)
	view2, _ := s.ViewContainers(nil)
	if view1[0] != view2[0] || view1[0].Labels["k"] != "new" {
		t.Fatalf("views: %p %p %v", view1[0], view2[0], view1[0].Labels)
	}
	if _, err := s.UpdateContainer(c.ID, func(r *Container) error { r.Labels["k"] = "newer"; return nil }); err != nil {
		t.Fatal(err)
	}
	view3, _ := s.ViewContainers(nil)
	if view1[0].Labels["k"] != "new" || view3[0].Labels["k"] != "newer" {
		t.Fatalf("an update changed a view's record (%v) or is not seen (%v)", view1[0].Labels, view3[0].Labels)
	}
}
