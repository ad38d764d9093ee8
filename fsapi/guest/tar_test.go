package guest

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestArchiveExtractRoundTrip(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	name := "odd name\n\xff"
	must(os.MkdirAll(filepath.Join(src, "tree", "sub"), 0o750))
	must(os.WriteFile(filepath.Join(src, "tree", name), []byte("data\x00\x01"), 0o640))
	must(os.Chmod(filepath.Join(src, "tree", name), os.ModeSetuid|0o751))
	must(os.Link(filepath.Join(src, "tree", name), filepath.Join(src, "tree", "sub", "hard")))
	must(os.Symlink("/etc/shadow", filepath.Join(src, "tree", "abs-link")))
	var buf bytes.Buffer
	must(Archive(&buf, filepath.Join(src, "tree"), "tree", 1<<20))
	dst := t.TempDir()
	x, err := Extract(dst, &buf, ExtractOptions{Max: 1 << 20, Owners: os.Geteuid() == 0})
	must(err)
	if x.Entries != 5 {
		t.Errorf("entries = %d, want 5", x.Entries)
	}
	got, err := os.ReadFile(filepath.Join(dst, "tree", name))
	must(err)
	if string(got) != "data\x00\x01" {
		t.Errorf("data = %q", got)
	}
	fi, err := os.Stat(filepath.Join(dst, "tree", name))
	must(err)
	if fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o751 {
		t.Errorf("mode = %v, want setuid 0751", fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Nlink != 2 {
		t.Errorf("nlink = %d, want 2 (the hard link kept)", st.Nlink)
	}
	if l, err := os.Readlink(filepath.Join(dst, "tree", "abs-link")); err != nil || l != "/etc/shadow" {
		t.Errorf("symlink = %q, %v", l, err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "tree", "sub")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("sub: %v %v", fi, err)
	}
}

func TestExtractRefusesHostileEntries(t *testing.T) {
	outside := t.TempDir()
	for _, tc := range []struct {
		name    string
		entries []tar.Header
	}{
		{"dotdot", []tar.Header{{Name: "a/../../escape", Typeflag: tar.TypeReg}}},
		{"absolute", []tar.Header{{Name: filepath.Join(outside, "abs"), Typeflag: tar.TypeReg}}},
		{"device", []tar.Header{{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}},
		{"fifo", []tar.Header{{Name: "fifo", Typeflag: tar.TypeFifo}}},
		{"through symlink", []tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: outside}, {Name: "l/escape", Typeflag: tar.TypeReg}}},
		{"hard link out", []tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../x"}}},
		{"hard link through symlink", []tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: outside}, {Name: "h", Typeflag: tar.TypeLink, Linkname: "l/victim"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("v"), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range tc.entries {
				h.Mode = 0o644
				if err := tw.WriteHeader(&h); err != nil {
					t.Fatal(err)
				}
			}
			tw.Close()
			dir := t.TempDir()
			_, err := Extract(dir, &buf, ExtractOptions{Max: 1 << 20})
			if !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("err = %v, want EINVAL", err)
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 {
				t.Fatalf("outside has %d entries: written through", len(ents))
			}
			if fi, _ := os.Stat(filepath.Join(outside, "victim")); fi.Sys().(*syscall.Stat_t).Nlink != 1 {
				t.Fatal("victim was hard-linked")
			}
		})
	}
}

func TestExtractCap(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 2048, Mode: 0o644})
	_, _ = tw.Write(make([]byte, 2048))
	tw.Close()
	_, err := Extract(t.TempDir(), &buf, ExtractOptions{Max: 1024})
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("err = %v, want EFBIG", err)
	}
}
