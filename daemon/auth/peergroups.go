package auth

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxGroups is the kernel's NGROUPS_MAX: no process has more supplementary
// groups, so no SO_PEERGROUPS answer is longer.
const maxGroups = 65536

// peerGroups returns the supplementary groups of the process that
// connected fd, as the kernel recorded them at connect(2) time
// (SO_PEERGROUPS, Linux 4.13): unlike /proc/<pid>/status they cannot
// belong to another process that reused the pid. golang.org/x/sys/unix
// has no helper for this option (its value is an array of gid_t whose
// length the caller cannot know beforehand), so it is a raw getsockopt
// that grows the buffer when the kernel answers ERANGE with the size it
// needs. A kernel without the option (ENOPROTOOPT) yields no groups: the
// caller's primary gid alone then decides, which grants less, never more.
func peerGroups(fd int) ([]int, error) {
	n := 32
	for {
		buf := make([]uint32, n)
		size := uint32(4 * n)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		switch {
		case errno == 0:
			if size%4 != 0 || int(size/4) > n {
				return nil, fmt.Errorf("SO_PEERGROUPS: the kernel answered %d bytes for a %d-byte buffer", size, 4*n)
			}
			groups := make([]int, size/4)
			for i := range groups {
				groups[i] = int(buf[i])
			}
			return groups, nil
		case errors.Is(errno, unix.ERANGE) && int(size/4) > n && size/4 <= maxGroups:
			n = int(size / 4)
		case errors.Is(errno, unix.ENOPROTOOPT):
			return nil, nil
		default:
			return nil, fmt.Errorf("SO_PEERGROUPS: %w", errno)
		}
	}
}
