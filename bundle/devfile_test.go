package bundle

import (
	"path/filepath"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestDevFileVolume: a regular file may be bound at a new name directly
// under /dev (Kubernetes' /dev/termination-log); a directory there, a
// device's name, a nested path or a tmpfs are still refused.
func TestDevFileVolume(t *testing.T) {
	fakeHost(t)
	h := newHostTree(t)
	file := filepath.Join(h.allowed, "file")
	req := sh()
	req.Volumes = []Volume{bind(file, "/dev/termination-log")}
	spec := mustBuild(t, req, h.policy())
	if m := findMount(spec, "/dev/termination-log"); m == nil || m.Type != "bind" {
		t.Fatalf("mount at /dev/termination-log = %+v, want a bind", m)
	}
	for _, c := range []struct {
		name string
		vol  Volume
	}{
		{"directory", bind(filepath.Join(h.allowed, "data"), "/dev/termination-log")},
		{"device name", bind(file, "/dev/null")},
		{"pts", bind(file, "/dev/pts")},
		{"nested", bind(file, "/dev/shm/x")},
		{"dotdot", bind(file, "/dev/../etc/x")},
		{"dot name", bind(file, "/dev/.x")},
		{"dev itself", bind(file, "/dev/")},
		{"tmpfs", Volume{Type: VolumeTmpfs, Destination: "/dev/x", SizeBytes: 1 << 20}},
	} {
		req := sh()
		req.Volumes = []Volume{c.vol}
		_, err := Build(testID, req, h.policy(), testPaths(t))
		wantErr(t, err, errdefs.ErrInvalidArgument)
	}
}
