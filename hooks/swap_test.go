package hooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// TestSwapAfterValidation swaps the hook between its validation and its
// exec, the TOCTOU window of CVE-2024-0132: the inode that was validated
// runs, never the one swapped in.
func TestSwapAfterValidation(t *testing.T) {
	swaps := map[string]func(t *testing.T, dir, hook, evil string){
		"file renamed over": func(t *testing.T, dir, hook, evil string) {
			if err := os.Rename(evil, hook); err != nil {
				t.Fatal(err)
			}
		},
		"file replaced by a symlink": func(t *testing.T, dir, hook, evil string) {
			if err := os.Remove(hook); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(evil, hook); err != nil {
				t.Fatal(err)
			}
		},
		"parent replaced by a symlink": func(t *testing.T, dir, hook, evil string) {
			// dir/d/hook becomes dir/d -> dir/evildir, which holds an evil "hook".
			evilDir := mkdir(t, dir, "evildir")
			if err := os.Rename(evil, filepath.Join(evilDir, "hook")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Dir(hook), filepath.Join(dir, "old")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(evilDir, filepath.Dir(hook)); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, swap := range swaps {
		t.Run(name, func(t *testing.T) {
			dir := testutil.HookDir(t)
			marker := filepath.Join(dir, "ran")
			hook := writeScript(t, filepath.Join(mkdir(t, dir, "d"), "hook"), `echo validated > "$1"`)
			evil := writeScript(t, filepath.Join(dir, "evil"), `echo swapped-in > "$1"`)
			r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: hook, Args: []string{"hook", marker}}}})
			r.beforeExec = func(string) { swap(t, dir, hook, evil) }
			if err := run(t, r); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(readFile(t, marker)); got != "validated" {
				t.Fatalf("after the swap the hook that ran wrote %q", got)
			}
			// The next run validates again and refuses the swapped path
			// when a symlink is now in it.
			r.beforeExec = nil
			err := run(t, r)
			if name == "file renamed over" {
				if err != nil {
					t.Fatalf("a valid replacement is refused: %v", err)
				}
				return
			}
			if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "is a symlink") {
				t.Fatalf("second run = %v, want a refused symlink", err)
			}
		})
	}
}

// TestRevalidatedBeforeEveryRun: a hook broken after New is refused, and
// not run.
func TestRevalidatedBeforeEveryRun(t *testing.T) {
	dir := testutil.HookDir(t)
	marker := filepath.Join(dir, "ran")
	hook := writeScript(t, filepath.Join(dir, "hook"), `echo ran > "$1"`)
	r := newRunner(t, dir, Set{CreateRuntime: []Hook{{Path: hook, Args: []string{"hook", marker}}}})
	chmod(t, hook, 0o757)
	err := run(t, r)
	want := "error running createRuntime hook #0 (" + hook + "): refused, not run: file " + hook + " is world-writable (mode 0757)"
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || err.Error() != want {
		t.Fatalf("Run = %v\nwant %s", err, want)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("the refused hook ran")
	}
	chmod(t, dir, 0o777) // and a parent that became world-writable
	chmod(t, hook, 0o755)
	if err := run(t, r); err == nil || !strings.Contains(err.Error(), "directory "+dir+" is world-writable") {
		t.Fatalf("Run = %v, want the world-writable trusted dir refused", err)
	}
}
