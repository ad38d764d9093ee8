package e2e

import (
	"os"
	"path/filepath"
	"testing"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestE2EKubernetesMounts: what the CRI plugin passes for a pod container
// is accepted from host paths under kubelet's and containerd's directories
// (here under an allowed_host_paths dir laid out the same way): single-file
// binds over /etc/hosts, /etc/resolv.conf, /etc/hostname and
// /dev/termination-log, a read-only service-account token dir (kubelet's
// ..data symlink layout) and a writable emptyDir, on a rootfs that lacks
// /etc, /dev/termination-log and /var.
func TestE2EKubernetesMounts(t *testing.T) {
	allowed := cliTempDir(t, "nucleus-k8s-mounts-")
	rootfs := cliBusyboxRootfs(t, allowed)
	if rootfs == "" {
		return
	}
	pod := filepath.Join(allowed, "kubelet", "pods", "uid1")
	sbx := filepath.Join(allowed, "containerd", "sandboxes", "sb1")
	token := filepath.Join(pod, "volumes", "kubernetes.io~projected", "kube-api-access-x")
	empty := filepath.Join(pod, "volumes", "kubernetes.io~empty-dir", "cache")
	term := filepath.Join(pod, "containers", "app", "c1")
	for _, d := range []string{sbx, filepath.Join(token, "..2026_12_04"), empty, filepath.Dir(term)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(empty, 0o777); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(pod, "etc-hosts"):                   "127.0.0.1 localhost\n10.1.0.5 app-pod\n",
		filepath.Join(sbx, "resolv.conf"):                 "nameserver 10.96.0.10\n",
		filepath.Join(sbx, "hostname"):                    "app-pod\n",
		term:                                              "",
		filepath.Join(token, "..2026_12_04", "token"):     "eyJ-token",
		filepath.Join(token, "..2026_12_04", "namespace"): "default",
	}
	for p, data := range files {
		if err := os.WriteFile(p, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(term, 0o666); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"..data": "..2026_12_04", "token": "..data/token", "namespace": "..data/namespace"} {
		if err := os.Symlink(target, filepath.Join(token, link)); err != nil {
			t.Fatal(err)
		}
	}
	d := StartDaemon(t, DaemonOptions{Config: "[security]\nallowed_host_paths = [\"" + allowed + "\"]\n"})
	bind := func(src, dst string, ro bool) *nucleusv1.Volume {
		return &nucleusv1.Volume{Type: nucleusv1.VolumeType_VOLUME_TYPE_BIND, Source: src, Destination: dst, ReadOnly: ro}
	}
	sa := "/var/run/secrets/kubernetes.io/serviceaccount"
	got := runOut(t, d.Client(), &nucleusv1.ContainerSpec{
		Rootfs: rootfs,
		Args: []string{"/bin/sh", "-c", "cat /etc/hosts /etc/resolv.conf /etc/hostname " + sa + "/token; echo; cat " + sa + "/namespace; echo; " +
			"echo done > /dev/termination-log; echo kept > /cache/f; (echo x > " + sa + "/x) 2>/dev/null || echo token-ro"},
		Volumes: []*nucleusv1.Volume{
			bind(filepath.Join(pod, "etc-hosts"), "/etc/hosts", false),
			bind(filepath.Join(sbx, "resolv.conf"), "/etc/resolv.conf", true),
			bind(filepath.Join(sbx, "hostname"), "/etc/hostname", true),
			bind(term, "/dev/termination-log", false),
			bind(token, sa, true),
			bind(empty, "/cache", false),
		},
	})
	want := files[filepath.Join(pod, "etc-hosts")] + "nameserver 10.96.0.10\napp-pod\neyJ-token\ndefault\ntoken-ro\n"
	if got != want {
		t.Errorf("pod container output:\n%q\nwant\n%q", got, want)
	}
	if b, err := os.ReadFile(term); err != nil || string(b) != "done\n" {
		t.Errorf("termination-log on the host: %q, %v; want \"done\\n\"", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(empty, "f")); err != nil || string(b) != "kept\n" {
		t.Errorf("emptyDir file on the host: %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(token, "x")); err == nil {
		t.Error("the read-only token dir was written")
	}
}
