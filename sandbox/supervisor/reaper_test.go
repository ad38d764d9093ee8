package supervisor

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// zombie reports whether pid is an unreaped child that has exited.
func zombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(data), ") ")
	return strings.HasPrefix(after, "Z")
}

// gone reports whether pid no longer exists (reaped).
func gone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, os.ErrNotExist)
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReaperReapsOnlyOrphans: an exited child nobody owns is reaped; an
// owned one keeps its zombie (and exit status) for its owner, also when
// it is the zombie in view ahead of an orphan, which is then still reaped.
func TestReaperReapsOnlyOrphans(t *testing.T) {
	r := newReaper()
	defer r.close()

	orphan := exec.Command("/bin/sh", "-c", "exit 0")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the orphan reaped", func() bool { r.reapOrphans(); return gone(orphan.Process.Pid) })

	owned := exec.Command("/bin/sh", "-c", "exit 3")
	if err := r.Start(owned); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the owned child a zombie", func() bool { return zombie(owned.Process.Pid) })
	// An orphan exits while the owned zombie waits for its owner.
	orphan2 := exec.Command("/bin/sh", "-c", "exit 0")
	if err := orphan2.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second orphan reaped beside an owned zombie", func() bool { r.reapOrphans(); return gone(orphan2.Process.Pid) })
	r.reapOrphans()
	if !zombie(owned.Process.Pid) {
		t.Fatal("the owned child was reaped by the reaper")
	}
	err := owned.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("the owner's Wait: %v, want exit status 3", err)
	}
	r.Done(owned)
}

// TestReaperHeld: while held, nothing is reaped.
func TestReaperHeld(t *testing.T) {
	r := newReaper()
	defer r.close()
	r.hold()
	c := exec.Command("/bin/sh", "-c", "exit 0")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child a zombie", func() bool { return zombie(c.Process.Pid) })
	r.reapOrphans()
	time.Sleep(50 * time.Millisecond)
	if !zombie(c.Process.Pid) {
		t.Fatal("reaped while held")
	}
	r.release()
	waitFor(t, "reaped after release", func() bool { return gone(c.Process.Pid) })
}

// TestExitedChildNamesTheZombie: the peek names an exited child by its pid
// and leaves it unreaped; with none exited it says so.
func TestExitedChildNamesTheZombie(t *testing.T) {
	c := exec.Command("/bin/sh", "-c", "exit 0")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child a zombie", func() bool { return zombie(c.Process.Pid) })
	pid, ok := exitedChild()
	if !ok || pid != c.Process.Pid {
		t.Fatalf("exitedChild = %d, %v; want %d", pid, ok, c.Process.Pid)
	}
	if !zombie(c.Process.Pid) {
		t.Fatal("the peek reaped the child")
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if pid, ok := exitedChild(); ok {
		t.Fatalf("exitedChild = %d with no exited child", pid)
	}
}
