package sandbox

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	// gVisor's create pins the namespace of a gofer it started: here one
	// made once, bind-mounted the way gVisor does it.
	goferNS := filepath.Join(root, "gofer-netns")
	if err := netns.Create(goferNS); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Remove(goferNS) })
	pinners := []func(){
		func() { _ = netns.Create(path) }, // another daemon's way
		func() { gvisorPin(goferNS, path) },
	}
	for i := range 60 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		pin := pinners[i%len(pinners)]
		go func() { // the other pinner, as fast as it can
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				pin()
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

// gvisorPin does what gVisor's create does when it finds no namespace
// pinned at path (runsc/container/null_netns.go): make the file if it is
// missing, bind-mount the gofer's namespace on it, remove it on failure.
func gvisorPin(goferNS, path string) {
	if netns.Pinned(path) {
		return
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o444)
	if err != nil {
		return
	}
	_ = f.Close()
	if err := unix.Mount(goferNS, path, "", unix.MS_BIND, ""); err != nil {
		_ = os.Remove(path)
	}
}
