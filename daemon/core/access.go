package core

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// lookup finds idOrName for caller: its exact id, else the one id that
// starts with it among the containers the caller may see (4 or more hex
// digits), and only then a name, so a name never shadows an id. A
// container the caller may not see is NotFound, exactly like one that does
// not exist.
func (d *Daemon) lookup(caller auth.Identity, idOrName string) (*store.Container, error) {
	if idOrName == "" {
		return nil, errdefs.InvalidArgument("a container id or name is required")
	}
	if store.IsID(idOrName) {
		c, err := d.store.GetContainer(idOrName)
		if err == nil && c.ID == idOrName && visible(caller, c) {
			return c, nil
		}
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
	}
	if isIDPrefix(idOrName) {
		c, err := d.lookupPrefix(caller, idOrName)
		if !errors.Is(err, errdefs.ErrNotFound) {
			return c, err
		}
	}
	c, err := d.store.GetContainerByName(idOrName)
	if errors.Is(err, errdefs.ErrNotFound) || (err == nil && !visible(caller, c)) {
		return nil, errdefs.NotFound("container %q not found", idOrName)
	}
	return c, err
}

// lookupLocked finds idOrName for caller, takes the container's lock and
// re-reads the record under it. The caller must call unlock.
func (d *Daemon) lookupLocked(caller auth.Identity, idOrName string) (c *store.Container, unlock func(), err error) {
	if c, err = d.lookup(caller, idOrName); err != nil {
		return nil, nil, err
	}
	unlock = d.locks.lock(c.ID)
	if c, err = d.store.GetContainer(c.ID); err != nil {
		unlock()
		return nil, nil, err
	}
	return c, unlock, nil
}

// minPrefix is the shortest id prefix accepted in place of an id.
const minPrefix = 4

func isIDPrefix(s string) bool {
	if len(s) < minPrefix || len(s) >= 32 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// lookupPrefix finds the one container the caller may see whose id starts
// with prefix, like docker; other callers' containers never count, so the
// answer reveals nothing about them.
func (d *Daemon) lookupPrefix(caller auth.Identity, prefix string) (*store.Container, error) {
	recs, err := d.store.ContainersWithIDPrefix(prefix, func(c *store.Container) bool {
		return visible(caller, c)
	}, 2)
	if err != nil {
		return nil, err
	}
	switch len(recs) {
	case 0:
		return nil, errdefs.NotFound("container %q not found", prefix)
	case 1:
		return recs[0], nil
	}
	return nil, errdefs.InvalidArgument("id prefix %q is ambiguous: more than one of your containers matches; give more characters", prefix)
}

func visible(caller auth.Identity, c *store.Container) bool {
	return caller.Admin || c.OwnerUID == uint32(caller.UID)
}

// ListFilter selects containers for List.
type ListFilter struct {
	States []nucleusv1.ContainerState
	// Labels are "key" (present) or "key=value" (equal).
	Labels []string
	// Name matches names containing it.
	Name string
	// Summary returns each container as LIST_VIEW_SUMMARY shows it
	// (ListResponse only).
	Summary bool
	// PageSize and PageToken select a page (ListResponse only); see
	// ListResponse.
	PageSize  int
	PageToken string
}

// List returns the caller's containers (all for an admin) matching f,
// oldest first.
func (d *Daemon) List(caller auth.Identity, f ListFilter) ([]*nucleusv1.Container, error) {
	recs, err := d.listRecords(caller, f)
	if err != nil {
		return nil, err
	}
	out := make([]*nucleusv1.Container, 0, len(recs))
	for _, c := range recs {
		out = append(out, toAPI(c))
	}
	return out, nil
}

// ListResponse is one page of List as the answer of the List call, its
// containers already encoded (see wireCache): the message carries them as
// its unknown fields, which protobuf writes out as they are, so the caller
// reads an ordinary repeated containers field. In this process, read it
// only through proto.Marshal. A page holds at most f.PageSize containers
// (0: DefaultPageSize, at most MaxPageSize) and at most MaxPageBytes of
// them unless the first alone is larger; NextPageToken resumes after its
// last.
func (d *Daemon) ListResponse(caller auth.Identity, f ListFilter) (*nucleusv1.ListResponse, error) {
	recs, err := d.listRecords(caller, f)
	if err != nil {
		return nil, err
	}
	if f.PageToken != "" {
		after, err := parsePageToken(f.PageToken)
		if err != nil {
			return nil, err
		}
		recs = recs[sort.Search(len(recs), func(i int) bool { return after.before(recs[i]) }):]
	}
	count := f.PageSize
	if count <= 0 {
		count = DefaultPageSize
	}
	count = min(count, MaxPageSize)
	wire, n, err := d.wire.page(recs, f.Summary, count, MaxPageBytes, d.pendingExits())
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	resp := &nucleusv1.ListResponse{}
	if n < len(recs) {
		resp.NextPageToken = pageTokenAfter(recs[n-1])
	}
	resp.ProtoReflect().SetUnknown(wire)
	return resp, nil
}

// listRecords returns the records List shows caller, read-only.
func (d *Daemon) listRecords(caller auth.Identity, f ListFilter) ([]*store.Container, error) {
	for _, l := range f.Labels {
		if strings.HasPrefix(l, "=") || l == "" {
			return nil, errdefs.InvalidArgument("label filter %q: use key or key=value", l)
		}
	}
	recs, err := d.store.ViewContainers(func(c *store.Container) bool {
		if !visible(caller, c) {
			return false
		}
		if len(f.States) > 0 && !slices.Contains(f.States, c.State) {
			return false
		}
		if f.Name != "" && !strings.Contains(c.Name, f.Name) {
			return false
		}
		for _, l := range f.Labels {
			k, v, hasValue := strings.Cut(l, "=")
			got, ok := c.Labels[k]
			if !ok || (hasValue && got != v) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return recs, nil
}

// Get returns one container.
func (d *Daemon) Get(caller auth.Identity, idOrName string) (*nucleusv1.Container, error) {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return nil, err
	}
	return withExitPending(toAPI(c), d.exitPending(c.ID)), nil
}

// nameInUse adds to the store's "name already in use" the id of the
// container holding it, when caller may see that container; another
// caller's container is never identified.
func (d *Daemon) nameInUse(caller auth.Identity, name string, err error) error {
	if !errors.Is(err, errdefs.ErrAlreadyExists) {
		return err
	}
	if holder, herr := d.store.GetContainerByName(name); herr == nil && visible(caller, holder) {
		return errdefs.AlreadyExists("container name %q is already in use by %s", name, holder.ID)
	}
	return err
}
