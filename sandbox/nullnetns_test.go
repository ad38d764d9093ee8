package sandbox

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/runsc/specutils"

	"nucleus.dev/nucleus/internal/testutil"
	"nucleus.dev/nucleus/sandbox/netns"
)

// TestPinNullNetNSWhileAnotherPins: supervisors left running by a killed
// daemon pin the gofers' null namespace themselves (gVisor does when it
// finds none) while the restarted daemon unpins and pins it; the daemon
// must start either way with a namespace pinned at the path (CI once saw
// "device or resource busy" end nucleusd's start here).
func TestPinNullNetNSWhileAnotherPins(t *testing.T) {
	testutil.RequireRoot(t, "mounts network namespaces")
	root := t.TempDir()
	path := filepath.Join(root, specutils.NullNetNSFilename)
	t.Cleanup(func() { _ = unpinNullNetNS(path) })
	for i := range 30 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the other pinner, as fast as it can
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = netns.Create(path)
			}
		}()
		time.Sleep(time.Millisecond)
		_, err := pinNullNetNS(root)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if !netns.Pinned(path) {
			t.Fatalf("round %d: nothing pinned at %s", i, path)
		}
	}
}
