package images

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// maxIDFile bounds how much of an image's /etc/passwd or /etc/group is read.
const maxIDFile = 4 << 20

// ResolveUser resolves an image USER ("name", "uid", "name:group",
// "uid:gid", empty meaning root) against the image's own /etc/passwd and
// /etc/group, read inside its tree through the same RESOLVE_IN_ROOT
// resolution as unpacking, never the host's files. It returns the uid, the
// primary gid and, when no group was given, the supplementary gids of the
// groups that list the user (as docker and runc do). A name missing from
// the image is InvalidArgument; a numeric id needs no entry (gid 0 then).
func (s *Store) ResolveUser(rec *Record, user string) (uid, gid uint32, additional []uint32, err error) {
	userPart, groupPart, hasGroup := strings.Cut(user, ":")
	if userPart == "" {
		userPart = "0"
	}
	t, err := openTree(s.RootFS(rec))
	if err != nil {
		return 0, 0, nil, err
	}
	defer t.close()
	passwd, err := readIDFile(t, "etc/passwd")
	if err != nil {
		return 0, 0, nil, err
	}
	name := ""
	if n, ok := parseID(userPart); ok {
		uid = n
		for _, e := range passwd {
			if len(e) >= 4 && e[2] == userPart {
				name, gid = e[0], mustID(e[3])
				break
			}
		}
	} else {
		found := false
		for _, e := range passwd {
			if len(e) >= 4 && e[0] == userPart {
				id, ok := parseID(e[2])
				if !ok {
					continue
				}
				uid, gid, name, found = id, mustID(e[3]), e[0], true
				break
			}
		}
		if !found {
			return 0, 0, nil, errdefs.InvalidArgument("user %q is not in the image's /etc/passwd", userPart)
		}
	}
	groups, err := readIDFile(t, "etc/group")
	if err != nil {
		return 0, 0, nil, err
	}
	if hasGroup && groupPart != "" {
		g, err := lookupGroup(groups, groupPart)
		return uid, g, nil, err
	}
	if name != "" {
		for _, e := range groups {
			if len(e) < 4 {
				continue
			}
			id, ok := parseID(e[2])
			if !ok || id == gid {
				continue
			}
			for _, m := range strings.Split(e[3], ",") {
				if m == name {
					additional = append(additional, id)
					break
				}
			}
		}
	}
	return uid, gid, additional, nil
}

func lookupGroup(groups [][]string, g string) (uint32, error) {
	if n, ok := parseID(g); ok {
		return n, nil
	}
	for _, e := range groups {
		if len(e) >= 3 && e[0] == g {
			if id, ok := parseID(e[2]); ok {
				return id, nil
			}
		}
	}
	return 0, errdefs.InvalidArgument("group %q is not in the image's /etc/group", g)
}

// readIDFile reads a colon-separated file of the image, resolved inside
// the tree (a symlink to the host's /etc/passwd resolves to the image's).
// A missing file reads as empty.
func readIDFile(t *tree, p string) ([][]string, error) {
	fd, err := t.open(p, unix.O_RDONLY, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errdefs.InvalidArgument("the image's /%s is not a regular file", p)
	}
	var out [][]string
	sc := bufio.NewScanner(io.LimitReader(f, maxIDFile))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, sc.Err()
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

func mustID(s string) uint32 { n, _ := parseID(s); return n }
