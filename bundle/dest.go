package bundle

import (
	"path"
	"strings"
	"unicode/utf8"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Path limits of Linux.
const (
	maxPathBytes = 4096
	maxNameBytes = 255
)

// cleanDestination normalizes a mount destination inside the sandbox: it
// must be absolute, valid UTF-8 without control characters, contain no ".."
// component, and be neither "/" nor under /proc, /sys or /dev. Redundant
// slashes and "." components are removed. what names the field in errors.
func cleanDestination(what, dst string) (string, error) {
	if err := checkPathString(what, dst); err != nil {
		return "", err
	}
	if !strings.HasPrefix(dst, "/") {
		return "", errdefs.InvalidArgument("%s %q must be an absolute path inside the sandbox", what, dst)
	}
	if hasDotDot(dst) {
		return "", errdefs.InvalidArgument("%s %q must not contain '..' components", what, dst)
	}
	clean := path.Clean(dst)
	if clean == "/" {
		return "", errdefs.InvalidArgument("%s must not be the sandbox root '/'", what)
	}
	for _, f := range forbiddenDestinations {
		if isUnder(clean, f) {
			return "", errdefs.InvalidArgument("%s %q is under %s, where mounts are not allowed (forbidden: /, %s)", what, dst, f, strings.Join(forbiddenDestinations, ", "))
		}
	}
	for _, name := range strings.Split(clean[1:], "/") {
		if len(name) > maxNameBytes {
			return "", errdefs.InvalidArgument("%s %q has a component longer than %d bytes", what, dst, maxNameBytes)
		}
	}
	return clean, nil
}

// checkPathString rejects strings that cannot be a safe path: empty, too
// long, NUL or other control characters, invalid UTF-8 (which JSON would
// silently rewrite).
func checkPathString(what, p string) error {
	if p == "" {
		return errdefs.InvalidArgument("%s must not be empty", what)
	}
	if len(p) > maxPathBytes {
		return errdefs.InvalidArgument("%s is %d bytes long; at most %d are allowed", what, len(p), maxPathBytes)
	}
	if !utf8.ValidString(p) {
		return errdefs.InvalidArgument("%s %q is not valid UTF-8", what, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return errdefs.InvalidArgument("%s %q contains a control character (NUL, newline, ...); use printable characters only", what, p)
		}
	}
	return nil
}

// hasDotDot reports whether p has a ".." component.
func hasDotDot(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return true
		}
	}
	return false
}

// isUnder reports whether p equals dir or lies below it; both are clean.
func isUnder(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
