package supervisor

import (
	"io"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.uber.org/zap"
	"gvisor.dev/gvisor/runsc/console"
)

// TestConsoleReceivesMaster: the master runsc sends (through gVisor's own
// console.NewWithSocket) arrives, works, and resize clamps and keeps
// sides.
func TestConsoleReceivesMaster(t *testing.T) {
	s := &supervisor{spec: &Spec{Dir: t.TempDir(), Terminal: true}, log: zap.NewNop()}
	r, err := s.listenConsole()
	if err != nil {
		t.Fatal(err)
	}
	path := s.spec.path(ConsoleFile)
	replica, err := console.NewWithSocket(path)
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	master, err := r.wait(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if _, err := replica.Write([]byte("from-the-guest\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = master.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.ReadAtLeast(master, buf, len("from-the-guest"))
	if err != nil || string(buf[:len("from-the-guest")]) != "from-the-guest" {
		t.Fatalf("read %q, %v from the master", buf[:n], err)
	}

	s.master = master
	s.resize(0, 0) // nothing set yet: the default
	for _, c := range []struct{ rows, cols, wantRows, wantCols uint16 }{
		{0, 0, defaultRows, defaultCols},
		{50, 0, 50, defaultCols},
		{65535, 0, maxTerminalSide, defaultCols},
		{0, 65535, maxTerminalSide, maxTerminalSide},
		{30, 100, 30, 100},
	} {
		s.resize(c.rows, c.cols)
		ws, err := pty.GetsizeFull(replica)
		if err != nil || ws.Rows != c.wantRows || ws.Cols != c.wantCols {
			t.Errorf("resize(%d, %d): %dx%d, %v; want %dx%d", c.rows, c.cols, ws.Rows, ws.Cols, err, c.wantRows, c.wantCols)
		}
	}
}

// TestConsoleNoMaster: a create that sends nothing fails in time.
func TestConsoleNoMaster(t *testing.T) {
	s := &supervisor{spec: &Spec{Dir: t.TempDir(), Terminal: true}, log: zap.NewNop()}
	r, err := s.listenConsole()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.wait(s.spec.path(ConsoleFile), 100*time.Millisecond); err == nil {
		t.Fatal("wait without a master succeeded")
	}
}
