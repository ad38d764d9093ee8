package bundle

import "path/filepath"

// carvedOut reports whether resolved, which lies under the sensitive host
// path d, is nevertheless allowed because the operator listed in
// allowed_host_paths a directory strictly below d that holds it: a node
// running Kubernetes keeps containerd's task rootfs under
// /run/containerd/io.containerd.runtime.v2.task, and an operator who names
// exactly that directory means it. Only sensitiveHostPaths can be carved
// out this way, never the daemon's own denied paths, and never by an entry
// that is d itself or above it (so allowing /run, /etc or / still allows
// nothing under them); a source that contains a sensitive path is always
// refused.
func carvedOut(resolved, d string, pol *Policy) bool {
	if resolved == d || !isSensitive(d) {
		return false
	}
	for _, denied := range append(cleanList(pol.DeniedHostPaths), resolvedList(pol.DeniedHostPaths)...) {
		if d == denied {
			return false
		}
	}
	for _, a := range resolvedList(pol.AllowedHostPaths) {
		if a != d && isUnder(a, d) && isUnder(resolved, a) {
			return true
		}
	}
	return false
}

// isSensitive reports whether d is one of sensitiveHostPaths, as written
// or resolved (/var/run is /run).
func isSensitive(d string) bool {
	for _, s := range append(cleanList(sensitiveHostPaths), resolvedList(sensitiveHostPaths)...) {
		if d == s {
			return true
		}
	}
	return false
}

func cleanList(list []string) []string {
	out := make([]string, 0, len(list))
	for _, p := range list {
		if filepath.IsAbs(p) {
			out = append(out, filepath.Clean(p))
		}
	}
	return out
}
