package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

const testID = "0123456789abcdef0123456789abcdef"

// fakeHost points hostLayout at a merged-/usr host (bin, sbin, lib, lib64
// are links into usr) for the duration of the test, and returns its root.
func fakeHost(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib", "usr/lib64"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"bin", "sbin", "lib", "lib64"} {
		if err := os.Symlink("usr/"+l, filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	old := hostRoot
	hostRoot = root
	t.Cleanup(func() { hostRoot = old })
	return root
}

func testPaths(t testing.TB) Paths {
	dir := t.TempDir()
	return Paths{BundleDir: filepath.Join(dir, "root", testID, "bundle"), SecretsDir: filepath.Join(dir, "state", "secrets", testID)}
}

func mustBuild(t testing.TB, req *Request, pol *Policy) *specs.Spec {
	t.Helper()
	spec, err := Build(testID, req, pol, testPaths(t))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return spec
}

func sh() *Request { return &Request{Args: []string{"/bin/sh", "-c", "true"}} }

// wantErr checks err's errdefs kind and that its message holds every part.
func wantErr(t testing.TB, err error, kind error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v (kind %v), want kind %v", err, errdefs.Kind(err), kind)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// requireRoot skips a test that mounts, unless under CI where it fails.
func requireRoot(t testing.TB) {
	t.Helper()
	testutil.RequireRoot(t, "to mount")
}

func findMount(spec *specs.Spec, dest string) *specs.Mount {
	for i := range spec.Mounts {
		if spec.Mounts[i].Destination == dest {
			return &spec.Mounts[i]
		}
	}
	return nil
}

// testMounts lists the mount points under this test's temporary
// directories. Other tests on the host mount things concurrently, so a
// global mountinfo comparison would be flaky.
func testMounts(t testing.TB) []string {
	t.Helper()
	root := filepath.Dir(t.TempDir())
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && isUnder(unescapeMountinfo(f[4]), root) {
			out = append(out, f[4])
		}
	}
	return out
}

func unescapeMountinfo(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
