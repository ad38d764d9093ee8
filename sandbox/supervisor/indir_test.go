package supervisor

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestInDirSeesEveryThread: a thread that unshared its filesystem
// attributes and changed directory (as gVisor's open-mount goroutine does
// in a supervisor) still counts, whichever thread it is: on the main
// thread it changes /proc/pid/cwd itself (what made a live supervisor look
// gone), elsewhere only its own /proc/pid/task/tid/cwd.
func TestInDirSeesEveryThread(t *testing.T) {
	errWrongThread := errors.New("not the thread wanted")
	start, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, wantMain := range []bool{true, false} {
		other := t.TempDir()
		done := make(chan struct{})
		ready := make(chan error)
		for tries := 0; tries < 50; tries++ {
			go func() {
				runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
				if (unix.Gettid() == os.Getpid()) != wantMain {
					ready <- errWrongThread
					<-done
					return
				}
				if err := unix.Unshare(unix.CLONE_FS); err != nil {
					ready <- err
					return
				}
				ready <- unix.Chdir(other)
				<-done
			}()
			if err = <-ready; err != errWrongThread {
				break
			}
		}
		if err == errWrongThread {
			close(done)
			t.Logf("no goroutine landed on the %s thread in 50 tries", map[bool]string{true: "main", false: "other"}[wantMain])
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !inDir(os.Getpid(), other) {
			t.Errorf("main thread %v: inDir does not see the thread in %s", wantMain, other)
		}
		if !inDir(os.Getpid(), start) {
			t.Errorf("main thread %v: inDir does not see the other threads in %s", wantMain, start)
		}
		if inDir(os.Getpid(), "/nonexistent-dir") {
			t.Error("inDir sees a directory no thread is in")
		}
		close(done)
	}
}
