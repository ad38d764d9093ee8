package sandbox

import (
	"fmt"
	"path/filepath"
	"time"

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
	err := unpinNullNetNS(path) // what earlier daemons left
	if err == nil {
		err = netns.Create(path)
	}
	// Supervisors that a killed daemon left creating containers run
	// gVisor's create, which pins the namespace itself when it finds none:
	// one may be doing so right now. Once an empty namespace is pinned at
	// path, whoever pinned it, that is all that is needed (a mount too many
	// goes at the next start).
	for attempt := 0; err != nil && attempt < pinAttempts; attempt++ {
		time.Sleep(20 * time.Millisecond) // its file made, not yet mounted
		if netns.Pinned(path) {
			return path, nil
		}
		if err = netns.Remove(path); err == nil {
			err = netns.Create(path)
		}
	}
	if err != nil {
		return "", fmt.Errorf("pin the gofers' null network namespace: %w", err)
	}
	return path, nil
}

// pinAttempts bounds pinNullNetNS's retries while another process pins
// the same file.
const pinAttempts = 5

// unpinNullNetNS removes every mount of the null network namespace at
// path and the file.
func unpinNullNetNS(path string) error {
	// Every stacked mount first: the file cannot go while one is left.
	for i := 0; i < maxStacked && netns.Pinned(path); i++ {
		if err := netns.Unmount(path); err != nil {
			return err
		}
	}
	return netns.Remove(path)
}
