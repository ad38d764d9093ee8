package e2e

import (
	"io"
	"os/exec"
	"testing"

	"github.com/creack/pty"
)

// startPtyCtr runs ctr args on a new pseudo-terminal of rows x cols.
func startPtyCtr(t *testing.T, c *containerd, rows, cols uint16, args ...string) *ptyCLI {
	t.Helper()
	cmd := exec.Command(ctrBin(), append([]string{"--address", c.socket, "--namespace", "nucleustest"}, args...)...)
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyCLI{cmd: cmd, master: master, out: &lockedBuffer{}, exited: make(chan struct{})}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = master.Close()
	})
	go func() { _, _ = io.Copy(p.out, master) }()
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p
}

// TestE2EContainerdTTY: a task on a terminal (ctr run -t) sees ctr's
// terminal size, a resize of ctr's terminal reaches it (ResizePty), its
// output and exit code come back; an exec on a terminal (ctr task exec -t)
// gets its own size and exit code.
func TestE2EContainerdTTY(t *testing.T) {
	_, c := startShimStack(t)
	c.importImage()
	script := "busybox stty size; i=0; while [ $i -lt 60 ]; do sleep 0.5; busybox stty size; i=$((i+1)); if busybox stty size | grep -q '33 111'; then exit 4; fi; done; exit 1"
	p := startPtyCtr(t, c, 30, 100, "run", "-t", "--rm", "--runtime", shimRuntime, ctrImage, "tty1", "sh", "-c", script)
	p.waitFor(t, "30 100")
	if err := pty.Setsize(p.master, &pty.Winsize{Rows: 33, Cols: 111}); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "33 111")
	if code := p.wait(t); code != 4 {
		t.Fatalf("ctr run -t: exit %d, want 4; the terminal shows %q", code, p.out.String())
	}

	if code := startPtyCtr(t, c, 24, 80, "run", "-d", "-t", "--runtime", shimRuntime, ctrImage, "ttyd", "sleep", "60").wait(t); code != 0 {
		t.Fatalf("ctr run -d -t: exit %d", code)
	}
	e := startPtyCtr(t, c, 25, 90, "task", "exec", "-t", "--exec-id", "e1", "ttyd", "sh", "-c", "busybox stty size; exit 6")
	e.waitFor(t, "25 90")
	if code := e.wait(t); code != 6 {
		t.Fatalf("ctr task exec -t: exit %d, want 6; the terminal shows %q", code, e.out.String())
	}
	c.ctrOK("task", "kill", "-s", "SIGKILL", "ttyd")
	waitTaskStopped(t, c, "ttyd")
	c.ctrOK("task", "rm", "ttyd")
	c.ctrOK("c", "rm", "ttyd")
}
