package bundle

import (
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hostRoot is where hostLayout looks for the host's directories; tests
// point it at a fake host.
var hostRoot = "/"

// rootfsLink is a symlink created in the empty rootfs, mirroring a host
// merged-/usr link such as /bin -> usr/bin.
type rootfsLink struct {
	Name   string // e.g. "bin"
	Target string // relative, e.g. "usr/bin"
}

// hostLayout decides how the fixed hostBoundDirs appear in the empty
// rootfs, looking at them under root ("/" in production): a directory is
// bound read-only; a symlink whose target lies inside another bound
// directory (merged /usr: /bin -> usr/bin) becomes the same relative
// symlink in the rootfs; any other symlink has its resolved target bound;
// a missing one is skipped.
func hostLayout(root string) ([]specs.Mount, []rootfsLink) {
	var mounts []specs.Mount
	var links []rootfsLink
	bound := map[string]bool{}
	for _, dir := range hostBoundDirs {
		host := filepath.Join(root, dir)
		fi, err := os.Lstat(host)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			mounts = append(mounts, specs.Mount{Destination: dir, Type: "bind", Source: host, Options: slices.Clone(hostBindOptions)})
			bound[dir] = true
			continue
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		resolved, err := filepath.EvalSymlinks(host)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() {
			continue
		}
		inRoot, err := filepath.Rel(root, resolved)
		if err != nil || !filepath.IsLocal(inRoot) {
			mounts = append(mounts, specs.Mount{Destination: dir, Type: "bind", Source: resolved, Options: slices.Clone(hostBindOptions)})
			continue
		}
		if b := boundAncestor(bound, "/"+inRoot); b != "" {
			links = append(links, rootfsLink{Name: dir[1:], Target: inRoot})
			continue
		}
		mounts = append(mounts, specs.Mount{Destination: dir, Type: "bind", Source: resolved, Options: slices.Clone(hostBindOptions)})
	}
	return mounts, links
}

func boundAncestor(bound map[string]bool, p string) string {
	for b := range bound {
		if isUnder(p, b) {
			return b
		}
	}
	return ""
}
