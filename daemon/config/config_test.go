package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestMinimalFileYieldsDefaults(t *testing.T) {
	cfg, err := Parse([]byte("version = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("Parse(version only) = %+v, want Default()", cfg)
	}
}

func TestOverrides(t *testing.T) {
	cfg, err := Parse([]byte(`
version = 1
[api]
socket = "/tmp/n.sock"
tcp_address = "0.0.0.0:7443"
tls_cert = "/etc/nucleus/cert.pem"
tls_key = "/etc/nucleus/key.pem"
tls_client_ca = "/etc/nucleus/ca.pem"
[runsc]
network = "sandbox"
extra_flags = ["--watchdog-action=panic"]
[defaults]
memory = "1g"
cpus = 1.5
timeout = "90s"
tmp_size = 1048576
[limits]
max_containers = 5
max_containers_per_uid = 2
[hooks]
trusted_dirs = ["/usr/libexec/nucleus/hooks"]
default_set = "net"
[[hooks.sets.net.create_runtime]]
path = "/usr/libexec/nucleus/hooks/netsetup"
args = ["netsetup", "--up"]
timeout = "5s"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.API.Socket = "/tmp/n.sock"
	want.API.TCPAddress = "0.0.0.0:7443"
	want.API.TLSCert, want.API.TLSKey, want.API.TLSClientCA = "/etc/nucleus/cert.pem", "/etc/nucleus/key.pem", "/etc/nucleus/ca.pem"
	want.Runsc.Network = "sandbox"
	want.Runsc.ExtraFlags = []string{"--watchdog-action=panic"}
	want.Defaults.Memory = GiB
	want.Defaults.CPUs = 1.5
	want.Defaults.Timeout = Duration(90 * time.Second)
	want.Defaults.TmpSize = MiB
	want.Limits.MaxContainers, want.Limits.MaxContainersPerUID = 5, 2
	want.Hooks = HooksConfig{
		TrustedDirs: []string{"/usr/libexec/nucleus/hooks"},
		DefaultSet:  "net",
		Sets: map[string]HookSet{"net": {CreateRuntime: []Hook{{
			Path: "/usr/libexec/nucleus/hooks/netsetup", Args: []string{"netsetup", "--up"}, Timeout: Duration(5 * time.Second),
		}}}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

// TestRejected checks that each bad file fails with InvalidArgument and a
// message naming the key.
func TestRejected(t *testing.T) {
	for _, tc := range []struct{ name, toml, key string }{
		{"unknown top-level key", "version = 1\nbogus = 2\n", "bogus"},
		{"unknown nested key", "version = 1\n[api]\nsockett = \"/x\"\n", "api.sockett"},
		{"unknown section", "version = 1\n[nope]\nx = 1\n", "nope"},
		{"unknown hook key", "version = 1\n[[hooks.sets.a.poststop]]\npath = \"/h/x\"\nbinary = \"/x\"\n", "hooks.sets.a.poststop.binary"},
		{"missing version", "[api]\nsocket = \"/x.sock\"\n", "version"},
		{"bad version", "version = 2\n", "version"},
		{"tcp without tls", "version = 1\n[api]\ntcp_address = \":7443\"\n", "api.tls_client_ca"},
		{"tcp with partial tls", "version = 1\n[api]\ntcp_address = \":7443\"\ntls_cert = \"/c\"\ntls_key = \"/k\"\n", "api.tls_client_ca"},
		{"relative socket", "version = 1\n[api]\nsocket = \"n.sock\"\n", "api.socket"},
		{"bad network", "version = 1\n[runsc]\nnetwork = \"bridge\"\n", "runsc.network"},
		{"host network not allowed", "version = 1\n[runsc]\nnetwork = \"host\"\n", "runsc.network"},
		{"owned runsc flag", "version = 1\n[runsc]\nextra_flags = [\"--root=/x\"]\n", "runsc.extra_flags[0]"},
		{"bad platform", "version = 1\n[runsc]\nplatform = \"xen\"\n", "runsc.platform"},
		{"root allowed", "version = 1\n[security]\nallowed_host_paths = [\"/\"]\n", "security.allowed_host_paths[0]"},
		{"userns on host users", "version = 1\n[security]\nuserns_base = 1000\n", "security.userns_base"},
		{"userns empty range", "version = 1\n[security]\nuserns_size = 0\n", "security.userns_size"},
		{"userns no ranges", "version = 1\n[security]\nuserns_ranges = 0\n", "security.userns_ranges"},
		{"userns past the id space", "version = 1\n[security]\nuserns_base = 4294901760\nuserns_ranges = 2\n", "security.userns_ranges"},
		{"userns negative", "version = 1\n[security]\nuserns_base = -1\n", "userns_base"},
		{"bad size", "version = 1\n[defaults]\nmemory = \"12q\"\n", "defaults.memory"},
		{"bad duration", "version = 1\n[defaults]\ntimeout = \"10\"\n", "defaults.timeout"},
		{"wrong type", "version = 1\n[limits]\nmax_containers = \"many\"\n", "max_containers"},
		{"per uid above total", "version = 1\n[limits]\nmax_containers = 10\n", "limits.max_containers_per_uid"},
		{"request above recv", "version = 1\n[limits]\nmax_request_bytes = \"32m\"\n", "limits.max_request_bytes"},
		{"bad log level", "version = 1\n[logging]\nlevel = \"loud\"\n", "logging.level"},
		{"missing default set", "version = 1\n[hooks]\ndefault_set = \"x\"\n", "hooks.default_set"},
		{"hook outside trusted dirs", "version = 1\n[hooks]\ntrusted_dirs = [\"/h\"]\n[[hooks.sets.a.poststart]]\npath = \"/tmp/x\"\n", "hooks.sets.a.poststart[0].path"},
		{"relative hook", "version = 1\n[[hooks.sets.a.poststop]]\npath = \"x\"\n", "hooks.sets.a.poststop[0].path"},
		{"bad set name", "version = 1\n[hooks.sets.\"../x\"]\n", "hooks.sets.../x"},
		{"relative joinable dir", "version = 1\n[network]\njoinable_namespace_dirs = [\"run/netns\"]\n", "network.joinable_namespace_dirs[0]"},
		{"root joinable dir", "version = 1\n[network]\njoinable_namespace_dirs = [\"/run/netns\", \"/\"]\n", "network.joinable_namespace_dirs[1]"},
		{"no supervisor reuse count", "version = 1\n[supervisors]\nreuse = 0\n", "supervisors.reuse"},
		{"negative reuse", "version = 1\n[supervisors]\nreuse = -5\n", "supervisors.reuse"},
		{"no free supervisors", "version = 1\n[supervisors]\nmax_idle = 0\n", "supervisors.max_idle"},
		{"zero idle timeout", "version = 1\n[supervisors]\nidle_timeout = \"0s\"\n", "supervisors.idle_timeout"},
		{"syntax error", "version = 1\nmemory = = 2\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.toml))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("error %q is not InvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name %q", err, tc.key)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Default()
	cfg.Logging.Level = "x"
	cfg.Limits.EventsRetained = 0
	err := cfg.Validate()
	for _, key := range []string{"logging.level", "limits.events_retained"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want it to name %s", err, key)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nucleusd.toml")
	if err := os.WriteFile(path, []byte("version = 1\n[metrics]\naddress = \"127.0.0.1:9100\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metrics.Address != "127.0.0.1:9100" {
		t.Errorf("metrics.address = %q", cfg.Metrics.Address)
	}
	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}
