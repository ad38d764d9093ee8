package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"

	"nucleus.dev/nucleus/daemon/config"
)

const (
	k8sDir      = "kubernetes"
	runtimeType = "io.containerd.nucleus.v2"
	shimBinary  = "containerd-shim-nucleus-v2" // what containerd derives from runtimeType
)

// k8sDocs parses every YAML document under deploy/kubernetes, by kind.
func k8sDocs(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no YAML in %s: %v", k8sDir, err)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind, _ := doc["kind"].(string)
			if kind == "" || doc["apiVersion"] == nil {
				t.Fatalf("%s: a document without kind or apiVersion", f)
			}
			out[kind] = doc
		}
	}
	return out
}

// get walks a parsed document: keys for maps, ints for lists.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

// TestKubernetesManifestsAgree: the RuntimeClass's handler is the runtime
// the containerd snippets (both config versions) add, with the shim's
// runtime type; the DaemonSet runs install.sh privileged with hostPID and
// mounts every host directory the script writes at /host + its path; the
// image (Dockerfile) ships every binary the script installs; the unit
// starts the nucleusd the script installs; the node config is a valid
// nucleusd config that lets the shim use containerd's and kubelet's paths
// and join CNI's namespaces.
func TestKubernetesManifestsAgree(t *testing.T) {
	docs := k8sDocs(t)
	rc := docs["RuntimeClass"]
	handler, _ := rc["handler"].(string)
	if get(t, rc, "metadata", "name") != "nucleus" || handler != "nucleus" {
		t.Fatalf("RuntimeClass: name %v handler %v, want nucleus/nucleus", get(t, rc, "metadata", "name"), handler)
	}
	if _, err := os.Stat(filepath.Join("..", "cmd", shimBinary)); err != nil {
		t.Errorf("runtime type %s needs cmd/%s: %v", runtimeType, shimBinary, err)
	}
	for file, plugin := range map[string]string{
		"containerd-config-v2.toml": "io.containerd.grpc.v1.cri",
		"containerd-config-v3.toml": "io.containerd.cri.v1.runtime",
	} {
		var cfg map[string]any
		if _, err := toml.DecodeFile(filepath.Join(k8sDir, file), &cfg); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if got := get(t, cfg, "plugins", plugin, "containerd", "runtimes", handler, "runtime_type"); got != runtimeType {
			t.Errorf("%s: runtimes.%s.runtime_type = %v, want %s", file, handler, got, runtimeType)
		}
	}

	ds := docs["DaemonSet"]
	pod := get(t, ds, "spec", "template", "spec")
	ctr := get(t, pod, "containers", 0)
	if get(t, pod, "hostPID") != true || get(t, ctr, "securityContext", "privileged") != true {
		t.Error("the installer must be privileged with hostPID (it runs systemctl in pid 1's namespaces)")
	}
	if sa := get(t, pod, "serviceAccountName"); sa != get(t, docs["ServiceAccount"], "metadata", "name") {
		t.Errorf("DaemonSet's service account %v is not the one defined", sa)
	}
	env := map[string]string{}
	for _, e := range get(t, ctr, "env").([]any) {
		env[get(t, e, "name").(string)] = get(t, e, "value").(string)
	}
	if cmd := get(t, ctr, "command", 0); cmd != env["NUCLEUS_SRC"]+"/install.sh" {
		t.Errorf("command %v is not $NUCLEUS_SRC/install.sh (%s)", cmd, env["NUCLEUS_SRC"])
	}
	hostPaths := map[string]string{}
	for _, v := range get(t, pod, "volumes").([]any) {
		hostPaths[get(t, v, "name").(string)] = get(t, v, "hostPath", "path").(string)
	}
	mounted := map[string]bool{}
	for _, m := range get(t, ctr, "volumeMounts").([]any) {
		name, at := get(t, m, "name").(string), get(t, m, "mountPath").(string)
		if want := env["HOST_ROOT"] + hostPaths[name]; at != want {
			t.Errorf("volume %s is mounted at %s, want %s (HOST_ROOT + its host path)", name, at, want)
		}
		mounted[hostPaths[name]] = true
	}
	script := readFile(t, filepath.Join(k8sDir, "install.sh"))
	written := regexp.MustCompile(`\$HOST_ROOT(/[a-z./-]+)/`).FindAllStringSubmatch(script, -1)
	if len(written) < 6 {
		t.Fatalf("found only %d $HOST_ROOT paths in install.sh", len(written))
	}
	for _, dir := range written {
		if d := filepath.Dir(dir[1] + "/x"); !mounted[d] {
			t.Errorf("install.sh writes under %s, which the DaemonSet does not mount", d)
		}
	}
	if sel, _ := get(t, rc, "scheduling", "nodeSelector").(map[string]any); len(sel) == 0 {
		t.Error("the RuntimeClass has no nodeSelector: pods could land on nodes without Nucleus")
	}

	bins := regexp.MustCompile(`BINARIES=\(([^)]*)\)`).FindStringSubmatch(script)
	if bins == nil {
		t.Fatal("install.sh has no BINARIES=(...)")
	}
	docker := readFile(t, filepath.Join(k8sDir, "Dockerfile"))
	for _, b := range strings.Fields(bins[1]) {
		if !strings.Contains(docker, "bin/"+b+" ") && !strings.Contains(docker, "bin/"+b+"\n") {
			t.Errorf("the Dockerfile does not ship bin/%s, which install.sh installs", b)
		}
	}
	if !strings.Contains(bins[1], shimBinary) {
		t.Errorf("install.sh does not install %s", shimBinary)
	}
	if unit := readFile(t, filepath.Join("systemd", "nucleusd.service")); !strings.Contains(unit, "ExecStart=/usr/local/bin/nucleusd") {
		t.Error("nucleusd.service does not start /usr/local/bin/nucleusd, where install.sh puts it")
	}

	node, err := config.Parse([]byte(readFile(t, filepath.Join(k8sDir, "nucleusd-node.toml"))))
	if err != nil {
		t.Fatalf("nucleusd-node.toml: %v", err)
	}
	for _, want := range []string{"/run/containerd/io.containerd.runtime.v2.task", "/var/lib/kubelet/pods", "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes"} {
		if !contains(node.Security.AllowedHostPaths, want) {
			t.Errorf("nucleusd-node.toml: allowed_host_paths lacks %s", want)
		}
	}
	if !contains(node.Network.JoinableNamespaceDirs, "/var/run/netns") {
		t.Error("nucleusd-node.toml: joinable_namespace_dirs lacks /var/run/netns (CNI's)")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
