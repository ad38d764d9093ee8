package images

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"nucleus.dev/nucleus/internal/testutil"
)

func TestMountIDMapped(t *testing.T) {
	testutil.RequireRoot(t, "to make an id-mapped mount")
	s, _ := openStore(t, testPolicy(nil))
	recs, err := s.Import(context.Background(), bytes.NewReader(ociLayoutTar(t, busyboxImage(t), "registry.example/app:v1")), root0, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	const base = 0x70000000
	m := []IDMap{{ContainerID: 0, HostID: base, Size: 65536}}
	if err := MountIDMapped(s.RootFS(recs[0]), dst, m, m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { UnmountIDMapped(dst) })
	for p, want := range map[string]uint32{"etc/shadow": base, "home/app": base + 1000} {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dst, p), &st); err != nil || st.Uid != want || st.Gid != want {
			t.Errorf("%s through the mount: uid %d gid %d (%v), want %d", p, st.Uid, st.Gid, err, want)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(s.RootFS(recs[0]), "home/app"), &st); err != nil || st.Uid != 1000 {
		t.Errorf("the tree itself changed owner: %d %v", st.Uid, err)
	}
	if err := os.WriteFile(filepath.Join(dst, "new"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write through the mount = %v, want EROFS", err)
	}
	if err := UnmountIDMapped(dst); err != nil {
		t.Fatal(err)
	}
	if err := UnmountIDMapped(dst); err != nil {
		t.Errorf("a second unmount = %v, want nil", err)
	}
}
