package e2e

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyCLI runs nucleusctl args on a new pseudo-terminal of rows x cols and
// collects what it shows.
type ptyCLI struct {
	cmd    *exec.Cmd
	master *os.File
	out    *lockedBuffer
	before *unix.Termios
	exited chan struct{}
}

func startPtyCLI(t *testing.T, d *Daemon, rows, cols uint16, args ...string) *ptyCLI {
	t.Helper()
	cmd := exec.Command(binary(t, "nucleusctl"), append([]string{"--address", "unix://" + d.Socket}, args...)...)
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

func (p *ptyCLI) termios(t *testing.T) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.master.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

func (p *ptyCLI) waitFor(t *testing.T, sub string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.out.String(), sub) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the terminal: %q", sub, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *ptyCLI) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("nucleusctl did not exit; the terminal shows %q", p.out.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func sameSettings(a, b *unix.Termios) bool {
	return a.Iflag == b.Iflag && a.Oflag == b.Oflag && a.Lflag == b.Lflag && a.Cflag == b.Cflag
}

// TestE2EExecTTYCLI: nucleusctl exec -it under a pseudo-terminal puts it
// in raw mode, gives the process the terminal's size, forwards a resize
// (SIGWINCH), passes keys, exits with the process's code and restores the
// terminal's settings, also when nucleusd is killed in the middle.
func TestE2EExecTTYCLI(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 150*time.Second)
	id := running(t, c, ctx, "sleep 600").GetId()

	p := startPtyCLI(t, d, 25, 90, "exec", "-it", id, "/bin/sh", "-c", "stty size; read x; stty size; read y; exit 5")
	before := p.termios(t)
	if before.Lflag&unix.ICANON == 0 {
		t.Fatal("the new terminal is not in canonical mode")
	}
	p.waitFor(t, "25 90")
	if raw := p.termios(t); raw.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("the terminal is not in raw mode during exec -it (lflag %#x)", raw.Lflag)
	}
	if err := pty.Setsize(p.master, &pty.Winsize{Rows: 33, Cols: 111}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // SIGWINCH, then the resize message
	_, _ = p.master.Write([]byte("x\r"))
	p.waitFor(t, "33 111")
	_, _ = p.master.Write([]byte("y\r"))
	if code := p.wait(t); code != 5 {
		t.Errorf("exec -it exit code %d, want 5; terminal %q", code, p.out.String())
	}
	if after := p.termios(t); !sameSettings(before, after) {
		t.Errorf("terminal settings differ after exec -it: before %+v after %+v", before, after)
	}

	// nucleusd killed while the terminal is raw: nucleusctl fails and
	// restores it.
	p = startPtyCLI(t, d, 24, 80, "exec", "-it", id, "/bin/sh", "-c", "echo started; sleep 600")
	before = p.termios(t)
	p.waitFor(t, "started")
	d.Kill9()
	if code := p.wait(t); code == 0 {
		t.Error("exec -it succeeded with its daemon killed")
	}
	if after := p.termios(t); !sameSettings(before, after) {
		t.Errorf("terminal settings differ after the daemon was killed: before %+v after %+v", before, after)
	}
	d.Start()
}
