package bundle

import (
	"slices"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestFileHelperMountIsReadOnlyAndReserved(t *testing.T) {
	paths := testPaths(t)
	paths.HelperDir = "/var/lib/nucleus/file-helper"
	spec, err := Build(testID, sh(), &Policy{}, paths)
	if err != nil {
		t.Fatal(err)
	}
	m := findMount(spec, HelperMountPoint)
	if m == nil || m.Source != paths.HelperDir || m.Type != "bind" || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "nosuid") {
		t.Fatalf("helper mount = %+v, want a read-only nosuid bind of %s", m, paths.HelperDir)
	}
	if m := findMount(mustBuild(t, sh(), &Policy{}), HelperMountPoint); m != nil {
		t.Fatalf("a helper mount without Paths.HelperDir: %+v", m)
	}
	for _, dst := range []string{"/.nucleus", "/.nucleus/nucleus-fs", "/"} {
		req := sh()
		req.Volumes = []Volume{{Type: VolumeTmpfs, Destination: dst, SizeBytes: 1 << 20}}
		if _, err := Build(testID, req, &Policy{}, paths); err == nil {
			t.Errorf("a volume at %s was accepted", dst)
		} else if dst != "/" {
			wantErr(t, err, errdefs.ErrInvalidArgument, HelperMountPoint)
		}
		req = sh()
		req.Secrets = []Secret{{Name: "s", Data: []byte("x"), Destination: dst}}
		if _, err := Build(testID, req, &Policy{}, paths); err == nil {
			t.Errorf("a secret at %s was accepted", dst)
		}
	}
}
