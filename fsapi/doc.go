// Package fsapi is the daemon's side of the Files API: it runs nucleus-fs
// (fsapi/guest) inside a container's sandbox through an Exec the daemon
// provides, so that every path is resolved by the guest kernel and never
// on the host, and turns the helper's answers into results and errdefs
// errors. The helper is inside the sandbox, so its output is only data:
// every stream from it is bounded and parsed strictly, and a helper that
// floods or misbehaves ends the call, not the daemon.
package fsapi
