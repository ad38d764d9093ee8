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
package bundle
