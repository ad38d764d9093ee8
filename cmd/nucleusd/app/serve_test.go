package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSupervisorCommand(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "nucleusd")
	sup := filepath.Join(dir, SupervisorExecutable)
	fallback := []string{self, SuperviseCommand}

	if cmd, dedicated := supervisorCommand(self); dedicated || !slices.Equal(cmd, fallback) {
		t.Fatalf("without %s: %v %v, want %v", SupervisorExecutable, cmd, dedicated, fallback)
	}
	if err := os.WriteFile(sup, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cmd, dedicated := supervisorCommand(self); dedicated || !slices.Equal(cmd, fallback) {
		t.Fatalf("with a non-executable %s: %v %v", SupervisorExecutable, cmd, dedicated)
	}
	if err := os.Chmod(sup, 0o755); err != nil {
		t.Fatal(err)
	}
	if cmd, dedicated := supervisorCommand(self); !dedicated || !slices.Equal(cmd, []string{sup}) {
		t.Fatalf("with %s: %v %v", SupervisorExecutable, cmd, dedicated)
	}
	if err := os.Remove(sup); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sup, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, dedicated := supervisorCommand(self); dedicated {
		t.Fatal("a directory was taken for the supervisor")
	}
}
