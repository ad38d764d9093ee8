package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestPinRace swaps a directory on the resolved source path for a symlink
// to a directory outside the allowlist while bundles are created: every
// pinned volume must show the allowed directory, never the outside one
// (runc CVE-2021-30465, stage two).
func TestPinRace(t *testing.T) {
	requireRoot(t)
	fakeHost(t)
	h := newHostTree(t)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(h.allowed+"/data/sub/marker", []byte("inside"), 0o644))
	must(os.MkdirAll(h.outside+"/sub", 0o755))
	must(os.WriteFile(h.outside+"/sub/marker", []byte("outside"), 0o644))

	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		data, real := h.allowed+"/data", h.allowed+"/data.real"
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.Rename(data, real)
			_ = os.Symlink("../outside", data)
			time.Sleep(20 * time.Microsecond)
			_ = os.Remove(data)
			_ = os.Rename(real, data)
			time.Sleep(200 * time.Microsecond)
		}
	}()
	created, refused, caught := 0, 0, 0
	for range 300 {
		paths := testPaths(t)
		req := sh()
		req.Volumes = []Volume{{Type: VolumeBind, Source: h.allowed + "/data/sub", Destination: "/data", ReadOnly: true}}
		_, err := Create(testID, req, h.policy(), paths)
		if err != nil {
			if !errors.Is(err, errdefs.ErrPermissionDenied) && !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Create: unexpected error kind: %v", err)
			}
			refused++
			if strings.Contains(err.Error(), "changed since it was checked") {
				caught++ // resolved inside, swapped before the pin
			}
			continue
		}
		created++
		got, err := os.ReadFile(filepath.Join(Dir(paths.BundleDir).volumesPath(), "0", "marker"))
		if err != nil || string(got) != "inside" {
			t.Errorf("pinned volume shows %q (%v), want the allowed directory", got, err)
		}
		if err := Remove(paths); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
	t.Logf("%d created, %d refused (%d caught between check and pin) while racing", created, refused, caught)
	if created == 0 {
		t.Error("no Create succeeded; the race exercised nothing")
	}
	if m := testMounts(t); len(m) != 0 {
		t.Errorf("mounts leaked: %v", m)
	}
}
