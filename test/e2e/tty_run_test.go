package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// sameTermios compares two terminal settings completely (flags, line
// discipline, control characters, speeds).
func sameTermios(a, b *unix.Termios) bool { return *a == *b }

// TestE2ETTYRunIt: nucleusctl run -it under a pseudo-terminal shows a
// shell's prompt, the shell sees the client's size (stty size) and a
// resize (stty size changes and its WINCH trap fires: SIGWINCH inside the
// sandbox), Ctrl-C reaches the container as a key (the shell survives it),
// `exit 7` makes run exit 7, and the client's termios is identical after.
func TestE2ETTYRunIt(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	p := startPtyCLI(t, d, 27, 91, "run", "-it", "--rm", "-e", "PS1=tty-prompt$ ", "--", "/bin/sh")
	before := p.termios(t)
	p.waitFor(t, "tty-prompt$ ")
	if raw := p.termios(t); raw.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("the terminal is not in raw mode during run -it (lflag %#x)", raw.Lflag)
	}
	_, _ = p.master.Write([]byte("trap 'echo got-winch' WINCH; stty size\r"))
	p.waitFor(t, "27 91")
	if err := pty.Setsize(p.master, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "got-winch")
	_, _ = p.master.Write([]byte("stty size\r"))
	p.waitFor(t, "40 120")
	// Ctrl-C is a key in raw mode: the shell gets SIGINT from its
	// terminal, survives it, and nucleusctl keeps running.
	_, _ = p.master.Write([]byte("sleep 100\r"))
	time.Sleep(500 * time.Millisecond)
	_, _ = p.master.Write([]byte{3})
	_, _ = p.master.Write([]byte("echo after-$((3+4))\r"))
	p.waitFor(t, "after-7")
	// A key's round trip: typed, echoed by the guest's terminal, logged,
	// streamed back (the supervisor flushes a terminal's partial line
	// after 20 ms).
	p.waitFor(t, "after-7\r\ntty-prompt$ ")
	var worst time.Duration
	for i := 1; i <= 5; i++ {
		begin := time.Now()
		_, _ = p.master.Write([]byte("k"))
		want := "tty-prompt$ " + strings.Repeat("k", i)
		for !strings.HasSuffix(p.out.String(), want) && time.Since(begin) < 10*time.Second {
			time.Sleep(2 * time.Millisecond)
		}
		worst = max(worst, time.Since(begin))
	}
	if worst > 2*time.Second {
		t.Errorf("a key's echo took %v", worst)
	}
	t.Logf("key echo round trip through run -it: worst of 5 %v", worst)
	_, _ = p.master.Write([]byte("\x15exit 7\r")) // Ctrl-U clears the typed keys

	if code := p.wait(t); code != 7 {
		t.Errorf("run -it exit code %d, want 7; terminal %q", code, p.out.String())
	}
	if after := p.termios(t); !sameTermios(before, after) {
		t.Errorf("termios differs after run -it:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestE2ETTYExecWinch: a resize of exec -it's terminal reaches the
// foreground process inside as SIGWINCH (its trap fires) besides changing
// stty size.
func TestE2ETTYExecWinch(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	ctx := ctxT(t, 120*time.Second)
	id := running(t, d.Client(), ctx, "sleep 600").GetId()
	p := startPtyCLI(t, d, 24, 80, "exec", "-it", "-e", "PS1=ex$ ", id, "/bin/sh")
	p.waitFor(t, "ex$ ")
	_, _ = p.master.Write([]byte("trap 'echo exec-winch' WINCH\r"))
	time.Sleep(500 * time.Millisecond)
	if err := pty.Setsize(p.master, &pty.Winsize{Rows: 31, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "exec-winch")
	_, _ = p.master.Write([]byte("stty size; exit 4\r"))
	p.waitFor(t, "31 101")
	if code := p.wait(t); code != 4 {
		t.Errorf("exec -it exit %d, want 4", code)
	}
}

// TestE2ETTYCreateStartAI: create -it then start -ai attaches to the
// container's terminal and exits with its code.
func TestE2ETTYCreateStartAI(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	if out, errOut, code := d.CtlRun("", "create", "-it", "--name", "later", "--", "/bin/sh"); code != 0 {
		t.Fatalf("create -it: exit %d: %s %s", code, out, errOut)
	}
	p := startPtyCLI(t, d, 26, 88, "start", "-ai", "later")
	before := p.termios(t)
	time.Sleep(time.Second)
	_, _ = p.master.Write([]byte("echo in-$((1+1)); stty size\r"))
	p.waitFor(t, "in-2")
	p.waitFor(t, "26 88")
	_, _ = p.master.Write([]byte("exit 5\r"))
	if code := p.wait(t); code != 5 {
		t.Errorf("start -ai exit %d, want 5; terminal %q", code, p.out.String())
	}
	if after := p.termios(t); !sameTermios(before, after) {
		t.Errorf("termios differs after start -ai")
	}
}
