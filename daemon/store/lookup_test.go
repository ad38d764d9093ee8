package store

import (
	"errors"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestLookupByNameAndPrefix: GetContainerByName matches names only;
// ContainersWithIDPrefix finds exactly the ids with the prefix, filtered
// and capped.
func TestLookupByNameAndPrefix(t *testing.T) {
	s := openTest(t, "", Options{})
	a, b, other := testContainer(0, "web"), testContainer(1, "db"), testContainer(2, "x")
	a.ID, b.ID, other.ID = "abcd"+strings.Repeat("0", 28), "abcd"+strings.Repeat("1", 28), "abce"+strings.Repeat("0", 28)
	b.OwnerUID = 2000
	for _, c := range []*Container{a, b, other} {
		if err := s.CreateContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := s.GetContainerByName("web"); err != nil || c.ID != a.ID {
		t.Errorf("GetContainerByName(web) = %v, %v", c, err)
	}
	if _, err := s.GetContainerByName(a.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("GetContainerByName(an id) = %v, want NotFound", err)
	}
	ids := func(cs []*Container) (out []string) {
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	if got, err := s.ContainersWithIDPrefix("abcd", nil, 0); err != nil || len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Errorf("prefix abcd = %v, %v", ids(got), err)
	}
	if got, _ := s.ContainersWithIDPrefix("abcd", func(c *Container) bool { return c.OwnerUID == 2000 }, 0); len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("prefix abcd, owner 2000 = %v", ids(got))
	}
	if got, _ := s.ContainersWithIDPrefix("ab", nil, 2); len(got) != 2 {
		t.Errorf("prefix ab, limit 2 = %v", ids(got))
	}
	if got, _ := s.ContainersWithIDPrefix("abcf", nil, 0); len(got) != 0 {
		t.Errorf("prefix abcf = %v", ids(got))
	}
}

// TestNameInUseHidesHolder: the store's "name in use" error does not name
// the holder's id (it may be another caller's container).
func TestNameInUseHidesHolder(t *testing.T) {
	s := openTest(t, "", Options{})
	if err := s.CreateContainer(testContainer(0, "web")); err != nil {
		t.Fatal(err)
	}
	err := s.CreateContainer(testContainer(1, "web"))
	if !errors.Is(err, errdefs.ErrAlreadyExists) || strings.Contains(err.Error(), testID(0)) {
		t.Errorf("second web = %v, want AlreadyExists without the holder's id", err)
	}
}
