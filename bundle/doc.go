// Package bundle turns a typed container request into a hardened OCI runtime
// spec and writes it, with its rootfs, volumes and in-memory secrets, as a
// bundle directory that runsc can run.
//
// Build validates a Request against a Policy and returns the spec without
// touching the disk (beyond resolving the symlinks of host paths). Create
// does the same and then lays the bundle out on disk; Remove undoes Create
// and is idempotent. Every rejection is an errdefs InvalidArgument (the
// request must change) or PermissionDenied (policy forbids it for this
// caller); misconfiguration by the daemon is FailedPrecondition.
//
// What runsc must be given: --oci-seccomp when Policy.OCISeccomp is set
// (otherwise runsc silently ignores a seccomp profile, so Build refuses
// one). The root is read-only, which makes runsc skip its --overlay2 root
// overlay: the bundles are tested with the default (root:self), none and
// root:memory. --network=none gives the sandbox only "lo".
package bundle
