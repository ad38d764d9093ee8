package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/testutil"
)

func TestCreateHasLoopbackUpAndRemoveCleans(t *testing.T) {
	testutil.E2E(t) // needs root (CAP_SYS_ADMIN) for unshare and mount
	path := filepath.Join(t.TempDir(), "ns")
	if err := Create(path); err != nil {
		t.Fatal(err)
	}
	var loUp bool
	var names []string
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // discarded with the goroutine
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		ifaces, err := net.Interfaces()
		for _, i := range ifaces {
			names = append(names, i.Name)
			if i.Name == "lo" && i.Flags&net.FlagUp != 0 {
				loUp = true
			}
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !loUp || len(names) != 1 {
		t.Fatalf("interfaces in the new namespace: %v (lo up: %v), want only lo, up", names, loUp)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if !strings.Contains(string(mi), path) {
		t.Fatal("namespace not pinned by a mount")
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := Remove(path); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	mi, _ = os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), path) {
		t.Fatal("mount left after Remove")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal(fmt.Sprintf("file left after Remove: %v", err))
	}
}

func TestCreateRefusesExistingPath(t *testing.T) {
	testutil.E2E(t)
	path := filepath.Join(t.TempDir(), "ns")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Create(path); err == nil {
		t.Fatal("Create over an existing file succeeded")
	}
	if _, err := os.Stat(path); err != nil || Pinned(path) {
		t.Errorf("the existing file after the refused Create: %v, pinned %v", err, Pinned(path))
	}
}

// TestCreateOnAFullFilesystem: with no inode left for its file, Create
// fails and leaves nothing behind: no file, no mount, and another's file
// beside it untouched.
func TestCreateOnAFullFilesystem(t *testing.T) {
	testutil.E2E(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,nr_inodes=2"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("kept"), 0o600); err != nil { // the last inode
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ns")
	err := Create(path)
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("Create on a full filesystem: %v, want ENOSPC", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("file left after the failed Create: %v", err)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), path) {
		t.Error("mount left after the failed Create")
	}
	if b, err := os.ReadFile(other); err != nil || string(b) != "kept" {
		t.Errorf("the other file: %q %v", b, err)
	}
}
