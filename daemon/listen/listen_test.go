package listen

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnixSocketModeAndGroup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api.sock")
	l, inherited, err := Unix(path, os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if inherited {
		t.Fatal("no LISTEN_FDS in a test: nothing to inherit")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, want a 0660 socket", fi.Mode())
	}
	// A second daemon on the same path is refused while the first serves.
	if _, _, err := Unix(path, -1); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener: %v, want 'in use'", err)
	}
}

func TestUnixSocketRootOnlyWithoutGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	l, _, err := Unix(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestUnixRefusesWhatIsNotAStaleSocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Unix(file, -1); err == nil {
		t.Fatal("a regular file at the socket path was replaced")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("the file was touched")
	}
	if _, _, err := Unix("@abstract", -1); err == nil {
		t.Fatal("abstract socket accepted")
	}
	if _, _, err := Unix("relative.sock", -1); err == nil {
		t.Fatal("relative path accepted")
	}
	// A stale socket (nobody listening) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	l, _, err := Unix(stale, -1)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	l.Close()
}

func TestGroupID(t *testing.T) {
	if gid, err := GroupID("0"); err != nil || gid != 0 {
		t.Fatalf("GroupID(0) = %d, %v", gid, err)
	}
	if gid, err := GroupID(""); err != nil || gid != -1 {
		t.Fatalf("GroupID('') = %d, %v", gid, err)
	}
	if _, err := GroupID("no-such-group-nucleus"); err == nil {
		t.Fatal("a missing group resolved")
	}
}
