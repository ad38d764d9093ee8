package supervisor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestClaimAndSupervisorLockExcludeEachOther(t *testing.T) {
	dir := t.TempDir()
	held, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, busy, err := Claim(dir); err != nil || !busy {
		t.Fatalf("Claim while a supervisor holds the lock: busy=%v err=%v", busy, err)
	}
	held.Close()
	release, busy, err := Claim(dir)
	if err != nil || busy {
		t.Fatalf("Claim after the supervisor ended: busy=%v err=%v", busy, err)
	}
	if _, err := lockDir(dir); err == nil {
		t.Fatal("a supervisor started while Delete held the lock")
	}
	release()
	if f, err := lockDir(dir); err != nil {
		t.Fatalf("lock after release: %v", err)
	} else {
		f.Close()
	}
	gone := filepath.Join(dir, "gone")
	if _, busy, err := Claim(gone); err != nil || busy {
		t.Fatalf("Claim of a missing dir: busy=%v err=%v", busy, err)
	}
	if _, err := lockDir(gone); err == nil {
		t.Fatal("a supervisor started in a removed directory")
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Fatal("Claim created the missing dir")
	}
}
