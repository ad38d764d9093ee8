package bundle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// hostSource is a host path resolved through every symlink and checked
// against the policy.
type hostSource struct {
	Path  string // resolved, symlink-free, clean, absolute
	Root  string // the resolved allowed host path Path lies under
	IsDir bool
}

// resolveHostPath resolves src through all its symlinks and checks that the
// result lies under one of pol.AllowedHostPaths, and neither lies under nor
// contains a sensitive host path (except below an allowed directory the
// operator named inside one: see carvedOut). what names the field in
// errors.
func resolveHostPath(what, src string, pol *Policy) (hostSource, error) {
	if !pol.AllowHostPaths {
		return hostSource{}, errdefs.PermissionDenied("%s: host paths are not allowed for this caller (only root may bind host paths)", what)
	}
	if err := checkPathString(what, src); err != nil {
		return hostSource{}, err
	}
	if !filepath.IsAbs(src) || hasDotDot(src) {
		return hostSource{}, errdefs.InvalidArgument("%s %q must be an absolute host path without '..' components", what, src)
	}
	resolved, err := filepath.EvalSymlinks(src)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hostSource{}, errdefs.InvalidArgument("%s %q does not exist on the host", what, src)
	case err != nil:
		return hostSource{}, errdefs.InvalidArgument("%s %q cannot be resolved: %v", what, src, err)
	}
	resolved = filepath.Clean(resolved)
	for _, d := range deniedPaths(pol) {
		if (isUnder(resolved, d) && !carvedOut(resolved, d, pol)) || isUnder(d, resolved) {
			return hostSource{}, errdefs.PermissionDenied("%s %q resolves to %s, which is or contains the sensitive host path %s; sensitive paths are %s",
				what, src, resolved, d, strings.Join(append(sensitiveHostPaths, pol.DeniedHostPaths...), ", "))
		}
	}
	root := ""
	for _, a := range resolvedList(pol.AllowedHostPaths) {
		if isUnder(resolved, a) {
			root = a
			break
		}
	}
	if root == "" {
		return hostSource{}, errdefs.PermissionDenied("%s %q resolves to %s, which is not under an allowed host path (allowed_host_paths: [%s])",
			what, src, resolved, strings.Join(pol.AllowedHostPaths, ", "))
	}
	fi, err := os.Lstat(resolved)
	if err != nil {
		return hostSource{}, errdefs.InvalidArgument("%s %q: %v", what, src, err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return hostSource{}, errdefs.InvalidArgument("%s %q is a %v; only directories and regular files can be mounted", what, src, fi.Mode().Type())
	}
	return hostSource{Path: resolved, Root: root, IsDir: fi.IsDir()}, nil
}

// deniedPaths returns the sensitive paths and the policy's denied paths,
// each both as written and resolved (so /var/run also denies /run).
func deniedPaths(pol *Policy) []string {
	all := append(append([]string(nil), sensitiveHostPaths...), pol.DeniedHostPaths...)
	var out []string
	for _, d := range all {
		if !filepath.IsAbs(d) {
			continue
		}
		out = append(out, filepath.Clean(d))
	}
	return append(out, resolvedList(all)...)
}

// resolvedList resolves each absolute path of list through its symlinks,
// skipping those that do not exist.
func resolvedList(list []string) []string {
	var out []string
	for _, p := range list {
		if !filepath.IsAbs(p) {
			continue
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			out = append(out, filepath.Clean(r))
		}
	}
	return out
}
