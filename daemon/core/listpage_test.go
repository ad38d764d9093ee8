package core

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// List pages: every container once, in order, each page within the count
// and MaxPageBytes (a single larger container alone), tokens that resume
// after the last one and show a caller only its own containers.
func TestListPages(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &Daemon{store: st}
	big := strings.Repeat("x", 300<<10)
	now := time.Now().UTC()
	for i := range 12 {
		args := []string{"/bin/true"}
		if i%2 == 0 {
			args = append(args, big)
		}
		if i == 5 {
			args = append(args, strings.Repeat("y", 1200<<10)) // alone larger than a page
		}
		c := &store.Container{ID: fmt.Sprintf("%032x", i+1), Name: fmt.Sprintf("c%d", i), OwnerUID: uint32(1000 + i%3),
			Spec: &nucleusv1.ContainerSpec{Args: args}, CreatedAt: now.Add(time.Duration(i%4) * time.Second)}
		if err := st.CreateContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	list := func(caller auth.Identity, size int) []string {
		t.Helper()
		var ids []string
		tok := ""
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("more than 20 pages")
			}
			resp, err := d.ListResponse(caller, ListFilter{Summary: true, PageSize: size, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			wire, err := proto.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			var got nucleusv1.ListResponse
			if err := proto.Unmarshal(wire, &got); err != nil {
				t.Fatal(err)
			}
			if n := len(got.GetContainers()); n == 0 || (size > 0 && n > size) || (n > 1 && len(wire) > MaxPageBytes+200) {
				t.Fatalf("page of %d containers, %d bytes", n, len(wire))
			}
			for _, c := range got.GetContainers() {
				ids = append(ids, c.GetId())
			}
			if tok = got.GetNextPageToken(); tok == "" {
				return ids
			}
		}
	}
	all, err := d.List(auth.Identity{Admin: true}, ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range all {
		want = append(want, c.GetId())
	}
	for _, size := range []int{0, 1, 5} {
		if got := list(auth.Identity{Admin: true}, size); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("page size %d: %v, want %v", size, got, want)
		}
	}
	for _, id := range list(auth.Identity{UID: 1001}, 2) {
		if c, _ := st.GetContainer(id); c.OwnerUID != 1001 {
			t.Fatalf("uid 1001 paged onto %s of uid %d", id, c.OwnerUID)
		}
	}
	for _, tok := range []string{"garbage", "p1.!!", pageTokenPrefix + "eA"} {
		if _, err := d.ListResponse(auth.Identity{Admin: true}, ListFilter{PageToken: tok}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Fatalf("token %q: %v, want InvalidArgument", tok, err)
		}
	}
}
