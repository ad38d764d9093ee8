package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

func usernsStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// reserveOne stores a record holding the next range and returns its index.
func reserveOne(t *testing.T, u *usernsRanges, st *store.Store, sec config.SecurityConfig, n int) (uint32, error) {
	t.Helper()
	var got uint32
	err := u.reserve(st, sec, func(un *nucleusv1.UserNamespace) error {
		idx, ok := usernsRange(sec, un)
		if !ok {
			t.Fatalf("reserve handed out %v, which is not one of the ranges", un)
		}
		got = idx
		id := fmt.Sprintf("%032x", n)
		return st.CreateContainer(&store.Container{ID: id, Name: fmt.Sprintf("c%d", n), Spec: &nucleusv1.ContainerSpec{UserNamespace: un}})
	})
	return got, err
}

// TestUsernsRangesDistinctRoundRobinAndExhausted: ranges held by records
// are never handed out twice; a freed range is reused last; when all are
// held, create fails with ResourceExhausted and stores nothing.
func TestUsernsRangesDistinctRoundRobinAndExhausted(t *testing.T) {
	sec := config.Default().Security
	sec.UsernsRanges = 3
	st := usernsStore(t)
	u := &usernsRanges{}
	for i := range 3 {
		got, err := reserveOne(t, u, st, sec, i)
		if err != nil || got != uint32(i) {
			t.Fatalf("reserve %d = %d, %v; want range %d", i, got, err, i)
		}
	}
	if _, err := reserveOne(t, u, st, sec, 9); !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "userns_ranges") {
		t.Fatalf("reserve with every range held = %v, want ResourceExhausted naming userns_ranges", err)
	}
	if err := st.DeleteContainer(fmt.Sprintf("%032x", 1)); err != nil {
		t.Fatal(err)
	}
	if got, err := reserveOne(t, u, st, sec, 4); err != nil || got != 1 {
		t.Fatalf("reserve after freeing range 1 = %d, %v", got, err)
	}

	// A restarted daemon (a fresh cursor) starts after the highest range
	// held, not at a range freed a moment ago.
	if err := st.DeleteContainer(fmt.Sprintf("%032x", 0)); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteContainer(fmt.Sprintf("%032x", 2)); err != nil {
		t.Fatal(err)
	}
	if got, err := reserveOne(t, &usernsRanges{}, st, sec, 5); err != nil || got != 2 {
		t.Fatalf("first reserve of a fresh daemon = %d, %v; want 2 (after the held range 1)", got, err)
	}
}

// TestUsernsRangeOnlyMatchesHandedOutRanges: a root caller's own mapping
// holds a range only when it is exactly one.
func TestUsernsRangeOnlyMatchesHandedOutRanges(t *testing.T) {
	sec := config.Default().Security
	for _, tc := range []struct {
		host, size, cont uint32
		want             bool
	}{
		{config.DefaultUsernsBase, 65536, 0, true},
		{config.DefaultUsernsBase + 5*65536, 65536, 0, true},
		{config.DefaultUsernsBase + 1, 65536, 0, false},
		{config.DefaultUsernsBase, 1, 0, false},
		{config.DefaultUsernsBase, 65536, 1, false},
		{0, 65536, 0, false},
		{config.DefaultUsernsBase + 1024*65536, 65536, 0, false},
	} {
		un := &nucleusv1.UserNamespace{UidMappings: []*nucleusv1.IDMapping{{ContainerId: tc.cont, HostId: tc.host, Size: tc.size}}}
		if _, ok := usernsRange(sec, un); ok != tc.want {
			t.Errorf("usernsRange(%+v) = %v, want %v", tc, ok, tc.want)
		}
	}
	if m := usernsMapping(sec, 2); m.GetGidMappings()[0].GetHostId() != config.DefaultUsernsBase+2*65536 || m.GetUidMappings()[0].GetSize() != 65536 {
		t.Errorf("usernsMapping(2) = %v", m)
	}
}

// TestPrepareDirsTraversable: --root is 0711 and, with user namespaces on,
// a parent others cannot search is refused with a message naming the fix.
func TestPrepareDirsTraversable(t *testing.T) {
	base, err := os.MkdirTemp("", "nucleus-preparedirs-") // parents: /tmp, /
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o700); err != nil {
		t.Fatal(err)
	}
	root, state := filepath.Join(base, "root"), filepath.Join(base, "state")
	err = prepareDirs(root, state, true)
	if err == nil || !strings.Contains(err.Error(), "user_namespace") {
		t.Fatalf("prepareDirs under a 0700 parent = %v, want an error naming security.user_namespace", err)
	}
	if err := prepareDirs(root, state, false); err != nil {
		t.Fatalf("prepareDirs without user namespaces = %v", err)
	}
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := prepareDirs(root, state, true); err != nil {
		t.Fatalf("prepareDirs under a 0711 parent = %v", err)
	}
	if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("--root mode = %v, %v; want 0711", fi.Mode().Perm(), err)
	}
}

// TestRunscForUserns: runsc must be executable by others, as the gofer is
// started from it as the sandbox's unprivileged root.
func TestRunscForUserns(t *testing.T) {
	dir, err := os.MkdirTemp("", "nucleus-runsc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "runsc")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkRunscForUserns(bin); err == nil || !strings.Contains(err.Error(), "chmod o+x") {
		t.Errorf("checkRunscForUserns(0700 runsc) = %v, want an error naming the fix", err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkRunscForUserns(bin); err != nil {
		t.Errorf("checkRunscForUserns(0755 runsc) = %v", err)
	}
}
