package bundle

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// maxIDMappings is the number of ranges per map that every kernel since
// 4.15 accepts (the older limit of 5 is what runc and runsc document).
const maxIDMappings = 5

func checkUserNamespace(req *Request, _ *Policy) error {
	un := req.UserNamespace
	if un == nil {
		return nil
	}
	if err := checkIDMappings("uid", un.UIDMappings); err != nil {
		return err
	}
	if err := checkIDMappings("gid", un.GIDMappings); err != nil {
		return err
	}
	if _, ok := mapToHost(un.UIDMappings, req.User.UID); !ok {
		return errdefs.InvalidArgument("user namespace: uid %d is not mapped by the uid mappings", req.User.UID)
	}
	gids := append([]uint32{req.User.GID}, req.User.AdditionalGIDs...)
	for _, g := range gids {
		if _, ok := mapToHost(un.GIDMappings, g); !ok {
			return errdefs.InvalidArgument("user namespace: gid %d is not mapped by the gid mappings", g)
		}
	}
	return nil
}

func checkIDMappings(kind string, maps []IDMapping) error {
	if len(maps) == 0 {
		return errdefs.InvalidArgument("user namespace needs at least one %s mapping", kind)
	}
	if len(maps) > maxIDMappings {
		return errdefs.InvalidArgument("user namespace has %d %s mappings; at most %d are allowed", len(maps), kind, maxIDMappings)
	}
	for i, m := range maps {
		if m.Size == 0 {
			return errdefs.InvalidArgument("%s mapping %d has size 0; size must be at least 1", kind, i)
		}
		if uint64(m.ContainerID)+uint64(m.Size) > 1<<32-1 || uint64(m.HostID)+uint64(m.Size) > 1<<32-1 {
			return errdefs.InvalidArgument("%s mapping %d overflows the 32-bit id range", kind, i)
		}
		for j := range i {
			o := maps[j]
			if overlaps(m.ContainerID, m.Size, o.ContainerID, o.Size) || overlaps(m.HostID, m.Size, o.HostID, o.Size) {
				return errdefs.InvalidArgument("%s mappings %d and %d overlap; ranges must be disjoint", kind, j, i)
			}
		}
	}
	return nil
}

func overlaps(a, an, b, bn uint32) bool {
	return uint64(a) < uint64(b)+uint64(bn) && uint64(b) < uint64(a)+uint64(an)
}

// mapToHost returns the host id of container id, or false when unmapped.
func mapToHost(maps []IDMapping, id uint32) (uint32, bool) {
	for _, m := range maps {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}

// hostIDs returns the host uid and gid that own files the process must
// read (secrets): identity without a user namespace.
func hostIDs(req *Request) (uid, gid uint32) {
	uid, gid = req.User.UID, req.User.GID
	if un := req.UserNamespace; un != nil {
		uid, _ = mapToHost(un.UIDMappings, uid)
		gid, _ = mapToHost(un.GIDMappings, gid)
	}
	return uid, gid
}

func specIDMappings(maps []IDMapping) []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, 0, len(maps))
	for _, m := range maps {
		out = append(out, specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out
}
