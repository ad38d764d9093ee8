package store

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestGuardTurnsFaultIntoError reads an mmap past the end of its file
// (SIGBUS), as bbolt does on a truncated store: guard must return an error
// instead of letting the process crash.
func TestGuardTurnsFaultIntoError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, 3*4096, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	var b byte
	err = guard(func() error { b = mem[2*4096]; return nil })
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("guard(read past EOF) = %v (byte %d), want a panic error", err, b)
	}
}
