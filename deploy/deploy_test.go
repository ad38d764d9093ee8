// Package deploy holds what `make install` puts on a host: the systemd
// units, tmpfiles.d and sysusers.d entries and the default config. Its tests
// keep the default config and docs/config.md identical to what
// daemon/config renders, and the units consistent with the config's
// defaults. Regenerate with `go test ./deploy -update`.
package deploy

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"nucleus.dev/nucleus/daemon/config"
)

var update = flag.Bool("update", false, "rewrite nucleusd.toml and ../docs/config.md from daemon/config")

const (
	configFile = "nucleusd.toml"
	configDoc  = "../docs/config.md"
)

// checkGenerated compares path with want, or rewrites it under -update.
func checkGenerated(t *testing.T, path, want string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with `go test ./deploy -update`)", err)
	}
	if string(got) != want {
		t.Errorf("%s drifted from daemon/config; regenerate it with `go test ./deploy -update`.\n%s",
			path, firstDiff(string(got), want))
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("first difference at line %d:\n  file:      %q\n  generated: %q", i+1, gl, wl)
		}
	}
	return ""
}

// TestDefaultConfigIsReference: deploy/nucleusd.toml is exactly what
// `nucleusd config default` prints.
func TestDefaultConfigIsReference(t *testing.T) {
	checkGenerated(t, configFile, config.Reference())
}

// TestDefaultConfigLoadsToDefaults: the installed file changes nothing:
// loading it gives the built-in defaults, so a host with it and no flags
// behaves like one without it.
func TestDefaultConfigLoadsToDefaults(t *testing.T) {
	cfg, err := config.Load(configFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*[]string{&cfg.Runsc.ExtraFlags, &cfg.Security.AllowedHostPaths, &cfg.Hooks.TrustedDirs, &cfg.Images.AllowedRegistries, &cfg.Images.Insecure} {
		if len(*s) == 0 {
			*s = nil // [] decodes as empty, the default is nil
		}
	}
	if want := config.Default(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load(%s) = %+v\nwant config.Default() = %+v", configFile, cfg, want)
	}
	if cfg.Metrics.Address != "" {
		t.Errorf("the metrics endpoint must be off by default")
	}
}

// TestConfigDocIsGenerated: docs/config.md is rendered from
// config.Reference(), so it documents every key with its default.
func TestConfigDocIsGenerated(t *testing.T) {
	checkGenerated(t, configDoc, renderConfigDoc(t, config.Reference()))
}

// unit is a parsed systemd unit file: "Section.Key" → values in order.
type unit map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, section := unit{}, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: bad line %q", path, line)
			}
			u[section+"."+k] = append(u[section+"."+k], v)
		}
	}
	return u
}

func (u unit) want(t *testing.T, key, value string) {
	t.Helper()
	if v := u[key]; len(v) == 0 || v[len(v)-1] != value {
		t.Errorf("%s = %q, want %q", key, v, value)
	}
}

// The defaults of nucleusd's --root and --state flags (cmd/nucleusd/app).
const (
	rootDir  = "/var/lib/nucleus"
	stateDir = "/run/nucleus"
)

func TestServiceUnit(t *testing.T) {
	u := parseUnit(t, "systemd/nucleusd.service")
	for k, v := range map[string]string{
		"Service.Type":                     "notify",
		"Service.ExecStart":                "/usr/local/bin/nucleusd",
		"Service.KillMode":                 "process",
		"Service.Delegate":                 "yes",
		"Service.Restart":                  "on-failure",
		"Service.TasksMax":                 "infinity",
		"Service.LimitNOFILE":              "1048576",
		"Service.StateDirectory":           filepath.Base(rootDir),
		"Service.StateDirectoryMode":       "0711",
		"Service.RuntimeDirectory":         filepath.Base(stateDir),
		"Service.RuntimeDirectoryMode":     "0711",
		"Service.RuntimeDirectoryPreserve": "yes", // else a stop wipes runsc state and supervisor sockets
		"Service.NoNewPrivileges":          "yes",
		"Install.Also":                     "nucleusd.socket",
		"Install.WantedBy":                 "multi-user.target",
	} {
		u.want(t, k, v)
	}
	if !strings.Contains(strings.Join(u["Unit.Wants"], " "), "nucleusd.socket") || !strings.Contains(strings.Join(u["Unit.After"], " "), "nucleusd.socket") {
		t.Errorf("the service must want and come after nucleusd.socket (Wants=%q After=%q)", u["Unit.Wants"], u["Unit.After"])
	}
	if filepath.Join("/var/lib", u["Service.StateDirectory"][0]) != rootDir || filepath.Join("/run", u["Service.RuntimeDirectory"][0]) != stateDir {
		t.Errorf("StateDirectory/RuntimeDirectory do not name nucleusd's default --root/--state")
	}
}

func TestSocketUnitMatchesConfig(t *testing.T) {
	u := parseUnit(t, "systemd/nucleusd.socket")
	def := config.Default()
	u.want(t, "Socket.ListenStream", def.API.Socket)
	u.want(t, "Socket.SocketGroup", def.API.SocketGroup)
	u.want(t, "Socket.SocketUser", "root")
	u.want(t, "Socket.SocketMode", "0660")
	u.want(t, "Socket.DirectoryMode", "0711")
	if filepath.Dir(def.API.Socket) != stateDir {
		t.Errorf("the default socket %s is not in the default --state %s", def.API.Socket, stateDir)
	}
}

// TestTmpfilesAndSysusers: the directories get the modes nucleusd insists
// on (it refuses others), and the socket's group exists.
func TestTmpfilesAndSysusers(t *testing.T) {
	lines := func(path string) [][]string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, strings.Fields(l))
			}
		}
		return out
	}
	want := map[string]string{rootDir: "d 0711 root root -", stateDir: "d 0711 root root -"}
	for _, f := range lines("tmpfiles.d/nucleus.conf") {
		if len(f) < 2 {
			t.Fatalf("tmpfiles line %q", f)
		}
		got := strings.Join(append([]string{f[0]}, f[2:]...), " ")
		if w, ok := want[f[1]]; !ok || got != w {
			t.Errorf("tmpfiles %s: %q, want %q", f[1], got, w)
		}
		delete(want, f[1])
	}
	for p := range want {
		t.Errorf("tmpfiles.d lacks %s", p)
	}
	users := lines("sysusers.d/nucleus.conf")
	if len(users) != 1 || users[0][0] != "g" || users[0][1] != config.Default().API.SocketGroup {
		t.Errorf("sysusers.d = %q, want the group %q", users, config.Default().API.SocketGroup)
	}
}

// hardeningOptions are systemd.exec/systemd.resource-control sandboxing
// settings. Each must appear in the service unit: set, or named in a
// comment that says why it is left out.
var hardeningOptions = []string{
	"NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities", "User", "DynamicUser",
	"ProtectSystem", "ProtectHome", "ReadWritePaths", "PrivateTmp", "PrivateDevices", "PrivateNetwork",
	"PrivateUsers", "PrivateIPC", "PrivateMounts", "ProtectHostname", "ProtectClock",
	"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
	"ProtectProc", "ProcSubset", "RestrictAddressFamilies", "RestrictNamespaces", "LockPersonality",
	"MemoryDenyWriteExecute", "RestrictRealtime", "RestrictSUIDSGID", "RemoveIPC", "SystemCallFilter",
	"SystemCallArchitectures", "DevicePolicy", "IPAddressDeny", "UMask", "KeyringMode", "OOMScoreAdjust",
}

func TestEveryHardeningOptionDecided(t *testing.T) {
	b, err := os.ReadFile("systemd/nucleusd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range hardeningOptions {
		if !regexp.MustCompile(`\b` + opt + `\b`).Match(b) {
			t.Errorf("nucleusd.service neither sets %s nor says why it is left out", opt)
		}
	}
}

// TestSysctlRaisesPidMax: the sysctl.d entry raises kernel.pid_max far
// above what max_containers running containers need (nucleusd warns at
// start when the kernel's limits are lower).
func TestSysctlRaisesPidMax(t *testing.T) {
	data, err := os.ReadFile("sysctl.d/50-nucleus.conf")
	if err != nil {
		t.Fatal(err)
	}
	var pidMax int
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "kernel.pid_max" {
			pidMax, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if need := config.Default().Limits.MaxContainers * 40; pidMax < need {
		t.Errorf("kernel.pid_max = %d, want at least %d (max_containers x 40 threads)", pidMax, need)
	}
}
