package bundle

import (
	"os"
	"path/filepath"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestCarveOutUnderRun: a bind source under /run is allowed only below an
// allowed_host_paths directory named strictly inside /run (containerd's
// task dir on a Kubernetes node), also through /var/run; allowing /run
// itself allows nothing under it, and the daemon's denied paths stay
// denied inside a carve-out.
func TestCarveOutUnderRun(t *testing.T) {
	requireRoot(t)
	fakeHost(t)
	base, err := os.MkdirTemp("/run", "nucleus-carveout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	allowed := filepath.Join(base, "tasks")
	src := filepath.Join(allowed, "k8s.io", "c1", "rootfs")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	build := func(source string, pol *Policy) error {
		req := sh()
		req.Volumes = []Volume{bind(source, "/data")}
		_, err := Build(testID, req, pol, testPaths(t))
		return err
	}
	if err := build(src, &Policy{AllowedHostPaths: []string{allowed}, AllowHostPaths: true}); err != nil {
		t.Fatalf("source below the carve-out %s: %v", allowed, err)
	}
	if _, err := os.Stat("/var/run"); err == nil {
		viaVarRun := filepath.Join("/var/run", filepath.Base(base), "tasks", "k8s.io", "c1", "rootfs")
		if err := build(viaVarRun, &Policy{AllowedHostPaths: []string{filepath.Join("/var/run", filepath.Base(base), "tasks")}, AllowHostPaths: true}); err != nil {
			t.Errorf("the same through /var/run: %v", err)
		}
	}
	wantErr(t, build(src, &Policy{AllowedHostPaths: []string{"/run"}, AllowHostPaths: true}), errdefs.ErrPermissionDenied, "sensitive")
	wantErr(t, build(src, &Policy{AllowedHostPaths: []string{allowed}, DeniedHostPaths: []string{filepath.Join(allowed, "k8s.io")}, AllowHostPaths: true}), errdefs.ErrPermissionDenied)
	wantErr(t, build(filepath.Dir(base), &Policy{AllowedHostPaths: []string{allowed}, AllowHostPaths: true}), errdefs.ErrPermissionDenied)
}
