package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	multierror "github.com/hashicorp/go-multierror"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/validate"
	"github.com/sirupsen/logrus"
	"github.com/xeipuuv/gojsonschema"
)

func init() {
	// runtime-tools warns through logrus, e.g. that args[0] is not in the
	// empty test rootfs; only errors matter here.
	logrus.SetLevel(logrus.ErrorLevel)
}

type namedRequest struct {
	name string
	req  *Request
	pol  *Policy
}

// allRequests covers every option the package offers, alone and together.
func allRequests(t *testing.T) []namedRequest {
	t.Helper()
	h := newHostTree(t)
	eperm := uint(1)
	full := &Request{
		Args: []string{"/usr/bin/env", "-i", "x"}, Env: []string{"A=1", "PATH=/opt/bin"},
		User: User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{5, 6}}, Cwd: "/work", Hostname: "h1",
		Annotations: map[string]string{"com.example.a": "b"}, Labels: map[string]string{"app": "x"},
		Sysctls:       map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "fs.nr_open": "2048"},
		UserNamespace: &UserNamespace{UIDMappings: []IDMapping{{0, 100000, 65536}}, GIDMappings: []IDMapping{{0, 100000, 65536}}},
		Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &eperm, Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 2, ValueTwo: 3, Op: specs.OpMaskedEqual}}}}},
		Volumes: []Volume{
			{Type: VolumeBind, Source: h.allowed + "/data", Destination: "/data", ReadOnly: true},
			{Type: VolumeBind, Source: h.allowed + "/file", Destination: "/etc/f"},
			{Type: VolumeTmpfs, Destination: "/scratch", SizeBytes: 1 << 20},
		},
		Secrets:   []Secret{{Name: "a", Data: []byte("x")}, {Name: "b", Destination: "/etc/b", Mode: 0o440}},
		Resources: Resources{MemoryBytes: 1 << 30, CPUs: 1.5, Pids: 50, MemlockBytes: 1 << 16},
	}
	pol := h.policy()
	pol.OCISeccomp = true
	pol.MaxCPUs = 8
	rootfs := *full
	rootfs.Rootfs = h.allowed + "/data/sub"
	rootfs.Volumes = []Volume{{Type: VolumeTmpfs, Destination: "/usr/x", SizeBytes: 1}}
	return []namedRequest{
		{"default", sh(), nil},
		{"everything", full, pol},
		{"host rootfs", &rootfs, pol},
		{"unlimited host pids", sh(), &Policy{HostPidsLimit: -1}},
	}
}

var (
	schemaOnce sync.Once
	schema     *gojsonschema.Schema
	schemaErr  error
)

// configSchema loads schema/config-schema.json from the runtime-spec
// module in the module cache: runtime-tools' CheckJSONSchema fetches it
// over the network, which tests cannot reach.
func configSchema(t *testing.T) *gojsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/opencontainers/runtime-spec").Output()
		if err != nil {
			schemaErr = err
			return
		}
		dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
		schema, schemaErr = gojsonschema.NewSchema(gojsonschema.NewReferenceLoader("file://" + filepath.Join(dir, "config-schema.json")))
	})
	if schemaErr != nil {
		t.Fatalf("loading the runtime-spec JSON schema offline: %v", schemaErr)
	}
	return schema
}

// validateSpec runs runtime-tools' validator, every check of CheckAll but
// the online schema fetch, host-specific, plus the offline JSON schema.
// bundleDir must hold rootfs/.
func validateSpec(t *testing.T, spec *specs.Spec, bundleDir string) {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := configSchema(t).Validate(gojsonschema.NewBytesLoader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors() {
		t.Errorf("JSON schema: %s", e)
	}
	v, err := validate.NewValidator(spec, bundleDir, true, runtime.GOOS)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]func() error{
		"platform": v.CheckPlatform, "root": v.CheckRoot, "mandatory": v.CheckMandatoryFields,
		"semver": v.CheckSemVer, "mounts": v.CheckMounts, "process": v.CheckProcess,
		"linux": v.CheckLinux, "annotations": v.CheckAnnotations, "hooks": v.CheckHooks,
	}
	for name, check := range checks {
		err := check()
		var merr *multierror.Error
		if errors.As(err, &merr) {
			err = merr.ErrorOrNil()
		}
		if err != nil {
			t.Errorf("runtime-tools %s check: %v", name, err)
		}
	}
}

// TestSpecsPassRuntimeTools validates every kind of spec Build produces.
func TestSpecsPassRuntimeTools(t *testing.T) {
	fakeHost(t)
	for _, r := range allRequests(t) {
		t.Run(r.name, func(t *testing.T) {
			bundleDir := t.TempDir()
			if err := os.Mkdir(filepath.Join(bundleDir, "rootfs"), 0o755); err != nil {
				t.Fatal(err)
			}
			validateSpec(t, mustBuild(t, r.req, r.pol), bundleDir)
		})
	}
}

// TestValidatorCatchesBadSpecs proves the validation is live: a spec with
// hooks-like breakage or schema errors fails.
func TestValidatorCatchesBadSpecs(t *testing.T) {
	fakeHost(t)
	spec := mustBuild(t, sh(), nil)
	spec.Process.Cwd = "relative"
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "x", Type: "bogusfs"})
	data, _ := json.Marshal(spec)
	res, err := configSchema(t).Validate(gojsonschema.NewBytesLoader([]byte(strings.Replace(string(data), `"ociVersion"`, `"ociVersion":1,"x"`, 1))))
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid() {
		t.Error("the offline schema accepted an ociVersion that is a number")
	}
	v, _ := validate.NewValidator(spec, t.TempDir(), true, runtime.GOOS)
	if v.CheckProcess() == nil || v.CheckMounts() == nil {
		t.Error("runtime-tools accepted a relative cwd and an unknown mount type")
	}
}
