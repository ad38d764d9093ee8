// Package guest is nucleus-fs, the file helper nucleusd runs inside a
// sandbox with exec. It does one operation per run, on paths the guest
// kernel resolves, and speaks fsapi/wire on its stdin, stdout and stderr.
// It runs as the container's root with a few file capabilities; the
// sandbox, not this code, keeps it inside the container.
package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"nucleus.dev/nucleus/fsapi/wire"
)

// Main runs the operation named by args (without the program name) and
// returns the exit code: 0, or wire.ExitError after printing a wire.Error
// on stderr.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := run(args, stdin, stdout)
	if err == nil {
		return 0
	}
	e := wire.Error{Errno: uint32(syscall.EIO), Message: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		e.Errno = uint32(errno)
	}
	_ = json.NewEncoder(stderr).Encode(e)
	return wire.ExitError
}

// failf is an error with an errno the daemon maps to a gRPC code.
func failf(errno syscall.Errno, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errno)
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return failf(syscall.EINVAL, "no operation")
	}
	op, args := args[0], args[1:]
	want := map[string]int{wire.OpStat: 1, wire.OpList: 2, wire.OpRead: 2, wire.OpWrite: 6, wire.OpMkdir: 3,
		wire.OpRemove: 2, wire.OpRename: 2, wire.OpTarOut: 2, wire.OpTarIn: 2}
	n, ok := want[op]
	if !ok || len(args) != n {
		return failf(syscall.EINVAL, "usage: %s takes %d arguments", op, n)
	}
	for _, p := range args[:1] {
		if len(p) == 0 || p[0] != '/' {
			return failf(syscall.EINVAL, "path %q is not absolute", p)
		}
	}
	switch op {
	case wire.OpStat:
		info, err := lstat(args[0])
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(info)
	case wire.OpList:
		return list(args[0], num(args[1]), stdout)
	case wire.OpRead:
		return read(args[0], num(args[1]), stdout)
	case wire.OpWrite:
		return write(args[0], writeOpts{mode: uint32(num(args[1])), uid: int(num(args[2])), gid: int(num(args[3])),
			setOwner: args[4] == "1", max: num(args[5])}, stdin, stdout)
	case wire.OpMkdir:
		return mkdir(args[0], uint32(num(args[1])), args[2] == "1")
	case wire.OpRemove:
		return remove(args[0], args[1] == "1")
	case wire.OpRename:
		if len(args[1]) == 0 || args[1][0] != '/' {
			return failf(syscall.EINVAL, "path %q is not absolute", args[1])
		}
		return os.Rename(args[0], args[1])
	case wire.OpTarOut:
		return tarOut(args[0], num(args[1]), stdout)
	default: // wire.OpTarIn
		return tarIn(args[0], num(args[1]), stdin, stdout)
	}
}

// num parses a decimal argument; nucleusd writes them, so a bad one is 0.
func num(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
