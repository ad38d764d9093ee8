package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// TestE2ETTYDetachAttach: Ctrl-P Ctrl-Q detaches run -it (exit 0, the
// client's termios identical), the container keeps running (ps), attach
// gets back into the same shell (a variable set before detaching), its
// exit code ends attach, and the terminal's output is in logs.
func TestE2ETTYDetachAttach(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 150*time.Second)
	p := startPtyCLI(t, d, 24, 80, "run", "-it", "--name", "dev", "-e", "PS1=dev$ ", "--", "/bin/sh")
	before := p.termios(t)
	p.waitFor(t, "dev$ ")
	_, _ = p.master.Write([]byte("MARK=kept-$((40+2)); echo set-$MARK\r"))
	p.waitFor(t, "set-kept-42")
	_, _ = p.master.Write([]byte{0x10, 0x11}) // Ctrl-P Ctrl-Q
	if code := p.wait(t); code != 0 {
		t.Fatalf("detach: exit %d, want 0; terminal %q", code, p.out.String())
	}
	if !strings.Contains(p.out.String(), "detached from container") {
		t.Errorf("no detach note: %q", p.out.String())
	}
	if after := p.termios(t); !sameTermios(before, after) {
		t.Errorf("termios differs after detaching:\nbefore %+v\nafter  %+v", before, after)
	}
	ct, err := c.Get(ctx, "dev")
	if err != nil || ct.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("after detaching: %v state %v, want running", err, ct.GetState())
	}
	if out, _, code := d.CtlRun("", "ps"); code != 0 || !strings.Contains(out, "dev") {
		t.Errorf("ps after detaching (exit %d): %q", code, out)
	}

	a := startPtyCLI(t, d, 30, 100, "attach", "dev")
	aBefore := a.termios(t)
	time.Sleep(time.Second)
	_, _ = a.master.Write([]byte("echo back-$MARK; stty size\r"))
	a.waitFor(t, "back-kept-42")
	a.waitFor(t, "30 100") // attach sized the terminal as its own
	_, _ = a.master.Write([]byte("exit 3\r"))
	if code := a.wait(t); code != 3 {
		t.Errorf("attach exit %d, want 3; terminal %q", code, a.out.String())
	}
	if after := a.termios(t); !sameTermios(aBefore, after) {
		t.Errorf("termios differs after attach:\nbefore %+v\nafter  %+v", aBefore, after)
	}
	var logs bytes.Buffer
	if err := c.Logs(ctx, &nucleusv1.LogsRequest{Id: ct.GetId()}, func(e *nucleusv1.LogEntry) error {
		logs.Write(e.GetContent())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"set-kept-42", "back-kept-42"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q: %q", want, logs.String())
		}
	}
}

// TestE2ETTYDaemonKilled: nucleusd killed with SIGKILL while attach holds
// the terminal raw: attach fails and restores the client's termios; the
// container keeps running (its supervisor owns the pty), and after a
// restart attach gets into the same shell.
func TestE2ETTYDaemonKilled(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	out, errOut, code := d.CtlRun("", "run", "-dit", "--name", "keep", "-e", "PS1=keep$ ", "--", "/bin/sh")
	if code != 0 {
		t.Fatalf("run -dit: exit %d: %s %s", code, out, errOut)
	}
	a := startPtyCLI(t, d, 24, 80, "attach", "keep")
	before := a.termios(t)
	time.Sleep(time.Second)
	_, _ = a.master.Write([]byte("SHELLPID=$$; echo pid-$SHELLPID\r"))
	a.waitFor(t, "pid-")
	d.Kill9()
	if code := a.wait(t); code == 0 {
		t.Errorf("attach succeeded with its daemon killed; terminal %q", a.out.String())
	}
	if after := a.termios(t); !sameTermios(before, after) {
		t.Errorf("termios differs after the daemon was killed:\nbefore %+v\nafter  %+v", before, after)
	}
	d.Start()
	b := startPtyCLI(t, d, 24, 80, "attach", "keep")
	time.Sleep(time.Second)
	_, _ = b.master.Write([]byte("[ $$ = $SHELLPID ] && echo same-$((1+1))\r"))
	b.waitFor(t, "same-2")
	_, _ = b.master.Write([]byte("exit 0\r"))
	if code := b.wait(t); code != 0 {
		t.Errorf("attach after restart: exit %d; terminal %q", code, b.out.String())
	}
}
