package client

import (
	"strconv"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// ParseUser reads -u UID[:GID]. Only numbers are accepted: user and group
// names cannot be resolved by the client, which does not see the container's
// /etc/passwd. Without GID the group is 0, as docker does for a uid that has
// no passwd entry.
func ParseUser(s string) (*nucleusv1.User, error) {
	uidStr, gidStr, hasGID := strings.Cut(s, ":")
	uid, err := parseID(uidStr)
	if err != nil {
		return nil, errdefs.InvalidArgument("invalid user %q: %s; only numeric UID[:GID] is supported", s, err)
	}
	u := &nucleusv1.User{Uid: uid}
	if hasGID {
		if u.Gid, err = parseID(gidStr); err != nil {
			return nil, errdefs.InvalidArgument("invalid user %q: %s; only numeric UID[:GID] is supported", s, err)
		}
	}
	return u, nil
}

// parseID reads a uid or gid, explaining what is wrong with it.
func parseID(s string) (uint32, error) {
	if s == "" {
		return 0, errdefs.InvalidArgument("empty id")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		if strings.Trim(s, "0123456789") != "" {
			return 0, errdefs.InvalidArgument("%q is a name, not a number", s)
		}
		return 0, errdefs.InvalidArgument("%q is out of range", s)
	}
	return uint32(n), nil
}
