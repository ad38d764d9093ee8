// Package version holds the build's version and revision, injected by the
// Makefile with -ldflags -X.
package version

// Version and Revision are set at build time; "dev"/"unknown" otherwise.
var (
	Version  = "dev"
	Revision = "unknown"
)
