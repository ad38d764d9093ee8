package core

import (
	"sync"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// usernsRanges hands each container that does not bring its own user
// namespace a range of host ids of its own ([security] userns_*): its root
// is then an unprivileged host uid that owns nothing on the host, and two
// containers never share an id on a bind volume or a secret. A range is
// held while the container's record exists (its spec stores the mapping),
// so it survives daemon restarts without state of its own; mu serialises
// picking a range with storing the record that holds it.
type usernsRanges struct {
	mu      sync.Mutex
	next    uint32 // where the search for a free range starts (round robin)
	started bool   // next was set from the store (after the highest range held)
}

// usernsMapping is range n's mapping: container ids 0..size-1 onto host
// ids base+n*size.., the same for uids and gids.
func usernsMapping(sec config.SecurityConfig, n uint32) *nucleusv1.UserNamespace {
	m := []*nucleusv1.IDMapping{{ContainerId: 0, HostId: sec.UsernsBase + n*sec.UsernsSize, Size: sec.UsernsSize}}
	return &nucleusv1.UserNamespace{UidMappings: m, GidMappings: []*nucleusv1.IDMapping{{ContainerId: 0, HostId: m[0].HostId, Size: m[0].Size}}}
}

// usernsRange is the range index of un when it is one of the ranges sec
// hands out, else false.
func usernsRange(sec config.SecurityConfig, un *nucleusv1.UserNamespace) (uint32, bool) {
	maps := un.GetUidMappings()
	if len(maps) != 1 || maps[0].GetContainerId() != 0 || maps[0].GetSize() != sec.UsernsSize {
		return 0, false
	}
	h := maps[0].GetHostId()
	if h < sec.UsernsBase || (h-sec.UsernsBase)%sec.UsernsSize != 0 {
		return 0, false
	}
	n := (h - sec.UsernsBase) / sec.UsernsSize
	return n, n < sec.UsernsRanges
}

// reserve runs create (which stores the record whose spec carries the
// mapping) with the first free range from the round-robin cursor, so a
// range a removed container used (whose files may remain on a volume) is
// reused as late as possible. Ranges are held by every record, whatever
// its state, by root callers' own mappings that equal one, and by
// snapshots (their restores get the source's range back).
func (u *usernsRanges) reserve(st *store.Store, sec config.SecurityConfig, create func(*nucleusv1.UserNamespace) error) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	used := map[uint32]bool{}
	if _, err := st.ViewContainers(func(c *store.Container) bool {
		if n, ok := usernsRange(sec, c.Spec.GetUserNamespace()); ok {
			used[n] = true
		}
		return false
	}); err != nil {
		return err
	}
	if err := snapshotRanges(st, sec, used); err != nil {
		return err
	}
	if !u.started {
		for n := range used {
			u.next = max(u.next, (n+1)%sec.UsernsRanges)
		}
		u.started = true
	}
	for i := range sec.UsernsRanges {
		n := (u.next + i) % sec.UsernsRanges
		if used[n] {
			continue
		}
		if err := create(usernsMapping(sec, n)); err != nil {
			return err
		}
		u.next = (n + 1) % sec.UsernsRanges
		return nil
	}
	return errdefs.ResourceExhausted("all %d user namespace ranges (security.userns_ranges) are held by existing containers; remove some", sec.UsernsRanges)
}
