package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// treeListing describes every path under root: name, type and mode,
// owner, size, link target, content hash, and the hard link group.
func treeListing(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%q %o %d:%d", rel, st.Mode, st.Uid, st.Gid)
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFLNK:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case syscall.S_IFREG:
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %d %x mtime=%d", st.Size, sha256.Sum256(b), st.Mtim.Sec)
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					line += " link=" + first
				} else {
					inodes[st.Ino] = rel
				}
			}
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestE2ECpTree: nucleusctl cp of a tree with symlinks, hard links, modes,
// non-root owners and odd names into a container and back equals the same
// tree copied by tar; cp - reads and writes tar streams.
func TestE2ECpTree(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 180*time.Second)
	ct := running(t, c, ctx, "sleep 600")
	name := ct.GetName()
	src := t.TempDir()
	tree := filepath.Join(src, "tree")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(tree, "sub", "deeper"), 0o755))
	must(os.WriteFile(filepath.Join(tree, "a"), []byte("alpha\x00\xff"), 0o640))
	must(os.WriteFile(filepath.Join(tree, "odd name\nwith\xffbyte"), []byte("odd"), 0o600))
	must(os.WriteFile(filepath.Join(tree, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chmod(filepath.Join(tree, "sub", "run.sh"), 0o755|os.ModeSetgid))
	must(os.Link(filepath.Join(tree, "a"), filepath.Join(tree, "sub", "hard-a")))
	must(os.Symlink("../a", filepath.Join(tree, "sub", "rel-link")))
	must(os.Symlink("/etc/shadow", filepath.Join(tree, "abs-link")))
	must(os.Chown(filepath.Join(tree, "a"), 1000, 1001))
	must(os.Lchown(filepath.Join(tree, "abs-link"), 7, 8))
	must(os.Chown(filepath.Join(tree, "sub"), 2000, 2000))
	must(os.Chmod(filepath.Join(tree, "sub", "deeper"), 0o700))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(os.Chtimes(filepath.Join(tree, "a"), old, old))

	// Local -> container (a new name), container -> local (a new name).
	ctlOK(t, d, "", "cp", tree, name+":/tmp/copied")
	out := t.TempDir()
	ctlOK(t, d, "", "cp", name+":/tmp/copied", filepath.Join(out, "back"))
	// The same tree copied by tar.
	byTar := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", "tar -C \"$1\" -cpf - tree | tar -C \"$2\" -xpf - && mv \"$2/tree\" \"$2/back\"", "sh", src, byTar)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	want, got := treeListing(t, filepath.Join(byTar, "back")), treeListing(t, filepath.Join(out, "back"))
	if want != got {
		t.Fatalf("cp round trip differs from tar's copy:\n--- tar\n%s\n--- cp\n%s", want, got)
	}
	if !strings.Contains(got, "link=") || !strings.Contains(got, "1000:1001") {
		t.Fatalf("the listing misses the hard link or the owner:\n%s", got)
	}
	if s := execOut(t, ctx, c, ct.GetId(), "stat", "-c", "%a %u:%g", "/tmp/copied/sub/run.sh", "/tmp/copied/a"); s != "2755 0:0\n640 1000:1001\n" {
		t.Errorf("modes and owners in the container: %q", s)
	}

	// Into an existing directory: under the source's name; "dir/." copies
	// the contents.
	ctlOK(t, d, "", "fs", "mkdir", name, "/tmp/into")
	ctlOK(t, d, "", "cp", tree, name+":/tmp/into")
	ctlOK(t, d, "", "cp", tree+"/.", name+":/tmp/into")
	ls := ctlOK(t, d, "", "fs", "ls", name, "/tmp/into")
	if !strings.Contains(ls, " tree\n") || !strings.Contains(ls, " sub\n") {
		t.Errorf("fs ls /tmp/into:\n%s", ls)
	}

	// cp - : a tar on stdout, and one on stdin.
	tarOut := ctlOK(t, d, "", "cp", name+":/tmp/copied/sub", "-")
	var names []string
	tr := tar.NewReader(strings.NewReader(tarOut))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "sub/,sub/deeper/,sub/hard-a,sub/rel-link,sub/run.sh" {
		t.Errorf("cp CONTAINER:DIR - names: %q", names)
	}
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	must(tw.WriteHeader(&tar.Header{Name: "from-stdin", Typeflag: tar.TypeReg, Mode: 0o600, Size: 3}))
	_, _ = tw.Write([]byte("yes"))
	must(tw.Close())
	ctlOK(t, d, in.String(), "cp", "-", name+":/tmp/into")
	if got := ctlOK(t, d, "", "fs", "cat", name, "/tmp/into/from-stdin"); got != "yes" {
		t.Errorf("fs cat of the file from stdin: %q", got)
	}
	ctlOK(t, d, "data\n", "fs", "write", "--mode", "0600", "--owner", "5:6", name, "/tmp/w")
	if st := ctlOK(t, d, "", "fs", "stat", name, "/tmp/w"); !strings.HasPrefix(st, "-rw------- 5:6 5 ") {
		t.Errorf("fs stat: %q", st)
	}
	ctlOK(t, d, "", "fs", "rm", name, "/tmp/w")
	ctlFails(t, d, 125, "no such file", "fs", "cat", name, "/tmp/w")
}
