package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// mountsAt counts the mounts at path.
func mountsAt(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			n++
		}
	}
	return n
}

// TestE2ENullNetNSNotStacked: the empty network namespace every gofer
// joins is pinned once by nucleusd, not once per concurrent create, and
// is gone when nucleusd stops.
func TestE2ENullNetNSNotStacked(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	path := filepath.Join(d.State, "runsc", "null-netns")
	if got := mountsAt(t, path); got != 1 {
		t.Fatalf("%d mounts at %s after start, want 1", got, path)
	}
	c := d.Client()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/sleep", "30"}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := mountsAt(t, path); got != 1 {
		t.Errorf("%d mounts at %s after 10 concurrent creates, want 1", got, path)
	}
	d.Stop()
	if got := mountsAt(t, path); got != 0 {
		t.Errorf("%d mounts at %s after nucleusd stopped, want 0", got, path)
	}
}
