package sandbox

import (
	"fmt"
	"path/filepath"

	"gvisor.dev/gvisor/runsc/specutils"

	"nucleus.dev/nucleus/sandbox/netns"
)

// maxStacked bounds the unmount loop over mounts stacked on the null
// network namespace's file by earlier daemons.
const maxStacked = 1000

// pinNullNetNS makes, once per daemon, the empty network namespace that
// every gofer joins (runsc's "null-netns" under its root). Left to runsc,
// the first gofers of concurrent creates each make and pin one, stacking
// bind mounts on the same file that nobody removes. Mounts left by an
// earlier daemon are removed first; gofers already running keep their
// namespace (they are in it). unpinNullNetNS undoes this.
func pinNullNetNS(runscRoot string) (string, error) {
	path := filepath.Join(runscRoot, specutils.NullNetNSFilename)
	if err := unpinNullNetNS(path); err != nil {
		return "", err
	}
	if err := netns.Create(path); err != nil {
		return "", fmt.Errorf("pin the gofers' null network namespace: %w", err)
	}
	return path, nil
}

// unpinNullNetNS removes every mount of the null network namespace at
// path and the file.
func unpinNullNetNS(path string) error {
	for i := 0; i < maxStacked && netns.Pinned(path); i++ {
		if err := netns.Remove(path); err != nil {
			return err
		}
	}
	return netns.Remove(path)
}
