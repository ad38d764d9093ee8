// Package hooks runs the operator's OCI hooks (createRuntime, poststart,
// poststop) on the host, next to sandboxes that hold hostile code.
//
// Hooks come only from the daemon's configuration, as named sets that a
// container request may select; a request carrying hook paths is refused
// (RefuseRawHooks). Each hook is validated when the Runner is built and
// again right before every run: an absolute, clean path under a trusted
// directory, no symlink in any component, a regular executable file with
// no setuid or setgid bit; the file and every directory above it, from "/"
// down (not only from the trusted directory), owned by root or nucleusd's
// uid and writable by their owner alone — group-writable is refused
// whoever owns it, and so is a sticky world-writable directory like /tmp.
//
// The run executes exactly the inode that was validated: the path is
// walked with openat(O_PATH|O_NOFOLLOW) one component at a time, the checks
// use fstat on those fds, and the child execs /proc/self/fd/3, its copy of
// the final fd, never the path looked up again. A "#!" script therefore
// sees itself as /dev/fd/3 in $0, and every hook inherits that O_PATH fd 3.
//
// A hook gets the OCI state as JSON on stdin (a memfd, so a hook
// that never reads cannot block anything), argv as configured, exactly its
// configured environment or a fixed PATH (never nucleusd's, never the
// container's), cwd "/", NO_NEW_PRIVS, RLIMIT_NOFILE and RLIMIT_NPROC of
// 1024, and its own process group, killed whole at the timeout (default
// 30s) and after the hook exits. The tail of its output (OutputLimit bytes)
// goes into the error and the log. See start in exec_linux.go for how
// NO_NEW_PRIVS and the rlimits are applied before the hook's first
// instruction.
package hooks
