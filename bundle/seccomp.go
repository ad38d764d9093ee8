package bundle

import (
	"regexp"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// What runsc's OCI seccomp support (runsc/specutils/seccomp) honours; the
// rest it would ignore or reject at start, so it is refused here.
var (
	seccompActions = map[specs.LinuxSeccompAction]bool{
		specs.ActKill: true, specs.ActTrap: true, specs.ActErrno: true,
		specs.ActTrace: true, specs.ActAllow: true,
	}
	seccompOps = map[specs.LinuxSeccompOperator]bool{
		specs.OpEqualTo: true, specs.OpNotEqual: true, specs.OpGreaterThan: true,
		specs.OpGreaterEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true,
		specs.OpMaskedEqual: true,
	}
	// Only the native architecture is enforced; the 32-bit companions are
	// accepted because gVisor runs no 32-bit syscalls at all.
	seccompArches = map[specs.Arch]bool{
		specs.ArchX86_64: true, specs.ArchX86: true, specs.ArchX32: true,
		specs.ArchAARCH64: true, specs.ArchARM: true,
	}
	syscallName = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

const (
	maxSeccompRules = 1024
	maxSeccompNames = 4096
	maxSeccompArgs  = 6
)

func checkSeccomp(req *Request, pol *Policy) error {
	s := req.Seccomp
	if s == nil {
		return nil
	}
	if !pol.OCISeccomp {
		return errdefs.InvalidArgument("seccomp profiles are not enabled on this daemon (runsc runs without --oci-seccomp); omit seccomp")
	}
	if !seccompActions[s.DefaultAction] {
		return errdefs.InvalidArgument("seccomp defaultAction %q is not supported; supported: SCMP_ACT_KILL, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW", s.DefaultAction)
	}
	if err := checkErrnoRet("defaultErrnoRet", s.DefaultErrnoRet); err != nil {
		return err
	}
	if s.ListenerPath != "" || s.ListenerMetadata != "" {
		return errdefs.InvalidArgument("seccomp listenerPath and listenerMetadata (SCMP_ACT_NOTIFY) are not supported")
	}
	for _, f := range s.Flags {
		if f != "SECCOMP_FILTER_FLAG_TSYNC" {
			return errdefs.InvalidArgument("seccomp flag %q is not supported; supported: SECCOMP_FILTER_FLAG_TSYNC", f)
		}
	}
	for _, a := range s.Architectures {
		if !seccompArches[a] {
			return errdefs.InvalidArgument("seccomp architecture %q is not supported; supported: SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64 (and their 32-bit companions)", a)
		}
	}
	if len(s.Syscalls) > maxSeccompRules {
		return errdefs.InvalidArgument("seccomp has %d syscall rules; at most %d are allowed", len(s.Syscalls), maxSeccompRules)
	}
	names := 0
	for i, sc := range s.Syscalls {
		if err := checkSyscallRule(i, sc); err != nil {
			return err
		}
		names += len(sc.Names)
	}
	if names > maxSeccompNames {
		return errdefs.InvalidArgument("seccomp names %d syscalls; at most %d are allowed", names, maxSeccompNames)
	}
	return nil
}

func checkSyscallRule(i int, sc specs.LinuxSyscall) error {
	if len(sc.Names) == 0 {
		return errdefs.InvalidArgument("seccomp syscalls[%d] has no names", i)
	}
	for _, n := range sc.Names {
		if !syscallName.MatchString(n) {
			return errdefs.InvalidArgument("seccomp syscalls[%d] name %.80q is invalid: use lowercase letters, digits and '_'", i, n)
		}
	}
	if !seccompActions[sc.Action] {
		return errdefs.InvalidArgument("seccomp syscalls[%d] action %q is not supported; supported: SCMP_ACT_KILL, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW", i, sc.Action)
	}
	if err := checkErrnoRet("seccomp syscalls["+strconv.Itoa(i)+"] errnoRet", sc.ErrnoRet); err != nil {
		return err
	}
	if len(sc.Args) > maxSeccompArgs {
		return errdefs.InvalidArgument("seccomp syscalls[%d] has %d args; at most %d are allowed", i, len(sc.Args), maxSeccompArgs)
	}
	for _, a := range sc.Args {
		if a.Index >= maxSeccompArgs {
			return errdefs.InvalidArgument("seccomp syscalls[%d] arg index %d is invalid; indexes are 0-5", i, a.Index)
		}
		if !seccompOps[a.Op] {
			return errdefs.InvalidArgument("seccomp syscalls[%d] operator %q is not supported", i, a.Op)
		}
	}
	return nil
}

// checkErrnoRet accepts only EPERM: runsc always returns EPERM for
// SCMP_ACT_ERRNO and SCMP_ACT_TRACE and would ignore any other value.
func checkErrnoRet(what string, v *uint) error {
	if v != nil && *v != uint(unix.EPERM) {
		return errdefs.InvalidArgument("%s %d is not supported: runsc always returns EPERM (1); omit it or set 1", what, *v)
	}
	return nil
}
