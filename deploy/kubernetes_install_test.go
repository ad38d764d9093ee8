package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installRun runs install.sh once against host (a fake root) with the
// installer files of this directory and a HOST_EXEC that records the host
// commands; it returns the commands.
func installRun(t *testing.T, src, host string) []string {
	t.Helper()
	record := filepath.Join(t.TempDir(), "host-commands")
	hostExec := filepath.Join(t.TempDir(), "host-exec")
	if err := os.WriteFile(hostExec, []byte("#!/bin/sh\necho \"$*\" >> "+record+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(k8sDir, "install.sh"))
	cmd.Env = append(os.Environ(), "HOST_ROOT="+host, "NUCLEUS_SRC="+src, "HOST_EXEC="+hostExec, "INSTALL_ONCE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(record)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// installerSource lays out the installer image's /opt/nucleus from this
// repository (fake binaries named by install.sh's BINARIES).
func installerSource(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bins := regexp.MustCompile(`BINARIES=\(([^)]*)\)`).FindStringSubmatch(readFile(t, filepath.Join(k8sDir, "install.sh")))
	for _, b := range strings.Fields(bins[1]) {
		write("bin/"+b, "binary "+b)
	}
	for _, f := range []string{"systemd/nucleusd.service", "systemd/nucleusd.socket", "tmpfiles.d/nucleus.conf", "sysusers.d/nucleus.conf"} {
		write(f, readFile(t, f))
	}
	for _, f := range []string{"nucleusd-node.toml", "containerd-config-v2.toml", "containerd-config-v3.toml"} {
		write(f, readFile(t, filepath.Join(k8sDir, f)))
	}
	return src
}

// TestInstallScript: install.sh (bash -n clean) installs the binaries and
// units, the node config when the node has none, and the runtime snippet
// matching containerd's config version exactly once; a re-run replaces the
// binaries, keeps the config and restarts containerd no more.
func TestInstallScript(t *testing.T) {
	if out, err := exec.Command("bash", "-n", filepath.Join(k8sDir, "install.sh")).CombinedOutput(); err != nil {
		t.Fatalf("bash -n install.sh: %v\n%s", err, out)
	}
	src := installerSource(t)
	for _, c := range []struct {
		name, existing, snippet string
	}{
		{"containerd 1.6/1.7", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"pause:3.9\"\n", "containerd-config-v2.toml"},
		{"containerd 2.x", "version = 3\n", "containerd-config-v3.toml"},
		{"no config", "", "containerd-config-v2.toml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			host := t.TempDir()
			cfg := filepath.Join(host, "etc", "containerd", "config.toml")
			if c.existing != "" {
				if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(cfg, []byte(c.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			first := installRun(t, src, host)
			if !contains(first, "systemctl restart containerd") || !contains(first, "systemctl restart nucleusd.service") {
				t.Errorf("first run's host commands %q: want nucleusd and containerd restarted", first)
			}
			got := readFile(t, cfg)
			snippet := readFile(t, filepath.Join(k8sDir, c.snippet))
			if !strings.HasPrefix(got, c.existing) || strings.Count(got, snippet) != 1 {
				t.Errorf("config.toml after install:\n%s\nwant the old config and %s once", got, c.snippet)
			}
			if b := readFile(t, filepath.Join(host, "usr/local/bin/containerd-shim-nucleus-v2")); b != "binary containerd-shim-nucleus-v2" {
				t.Errorf("installed shim: %q", b)
			}
			nodeCfg := filepath.Join(host, "etc/nucleus/nucleusd.toml")
			if readFile(t, nodeCfg) != readFile(t, filepath.Join(k8sDir, "nucleusd-node.toml")) {
				t.Error("the node config was not installed")
			}
			if err := os.WriteFile(nodeCfg, []byte("version = 1\n# the operator's\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			second := installRun(t, src, host)
			if contains(second, "systemctl restart containerd") {
				t.Errorf("the re-run restarted containerd again: %q", second)
			}
			if strings.Count(readFile(t, cfg), snippet) != 1 || readFile(t, nodeCfg) != "version = 1\n# the operator's\n" {
				t.Error("the re-run changed containerd's or nucleusd's config")
			}
			if fi, err := os.Stat(filepath.Join(host, "usr/local/bin/nucleusd")); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("nucleusd installed as %v, %v; want mode 0755", fi, err)
			}
		})
	}
}
