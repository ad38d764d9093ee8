package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ConsoleFile is the unix socket runsc sends a TTY container's terminal
// master to (runsc create --console-socket); it exists only during create.
const ConsoleFile = "console.sock"

// Terminal sizes are clamped to this many rows and columns; zero is
// ignored (a resize) or the default (at create).
const maxTerminalSide = 4096

// Default terminal size when the spec names none.
const (
	defaultRows = 24
	defaultCols = 80
)

// consoleReceiver waits for runsc to send the terminal's master.
type consoleReceiver struct {
	ln     *net.UnixListener
	master chan *os.File
	err    chan error
}

// listenConsole creates the console socket (mode 0600) and starts waiting
// for the one message carrying the master.
func (s *supervisor) listenConsole() (*consoleReceiver, error) {
	path := s.spec.path(ConsoleFile)
	_ = os.Remove(path)
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	r := &consoleReceiver{ln: ln, master: make(chan *os.File, 1), err: make(chan error, 1)}
	go func() {
		f, err := r.receive()
		if err != nil {
			r.err <- err
			return
		}
		r.master <- f
	}()
	return r, nil
}

// receive accepts runsc's connection and takes the fd it carries.
func (r *consoleReceiver) receive() (*os.File, error) {
	c, err := r.ln.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if !peerAllowed(c) {
		return nil, errors.New("console socket: a peer of another uid connected")
	}
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("console socket: got %d fds, want 1", len(fds))
	}
	// Non-blocking, so the runtime poller serves it (read deadlines).
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// wait returns the master once runsc sent it (create has returned, so it
// has or never will), and removes the socket.
func (r *consoleReceiver) wait(path string, timeout time.Duration) (*os.File, error) {
	defer func() {
		_ = r.ln.Close()
		_ = os.Remove(path)
	}()
	select {
	case f := <-r.master:
		return f, nil
	case err := <-r.err:
		return nil, err
	case <-time.After(timeout):
		return nil, errors.New("runsc sent no terminal on the console socket")
	}
}

// close gives up on the console (create failed).
func (r *consoleReceiver) close(path string) {
	_ = r.ln.Close()
	_ = os.Remove(path)
	select {
	case f := <-r.master:
		_ = f.Close()
	default:
	}
}

// startTerminal wires the master: its output is the container's stdout
// in the log, and a dup of it is the container's stdin, lent to "stdin"
// connections and never closed by one ending.
func (s *supervisor) startTerminal(master *os.File) error {
	s.master = master
	s.resize(s.spec.TerminalRows, s.spec.TerminalCols)
	fd, err := unix.Dup(int(master.Fd()))
	if err != nil {
		return fmt.Errorf("dup of the terminal master: %w", err)
	}
	unix.CloseOnExec(fd)
	s.stdin = &stdinPipe{w: os.NewFile(uintptr(fd), "pty-master-in"), terminal: true}
	c := startCopierFlushing("stdout", master, s.logw.Stdout(), s.log, terminalFlushAfter)
	s.copiers = append(s.copiers, c)
	return nil
}

// resize sets the terminal's size; the kernel then sends SIGWINCH to the
// terminal's foreground process group on the host, the sandbox process
// (runsc made the terminal its controlling one), and the sentry forwards
// it to the foreground process group inside the container. A zero side
// keeps the current one (default at create); sides are clamped.
func (s *supervisor) resize(rows, cols uint16) {
	if s.master == nil {
		return
	}
	cur, err := pty.GetsizeFull(s.master)
	if err != nil || cur.Rows == 0 || cur.Cols == 0 {
		cur = &pty.Winsize{Rows: defaultRows, Cols: defaultCols}
	}
	if rows != 0 {
		cur.Rows = min(rows, maxTerminalSide)
	}
	if cols != 0 {
		cur.Cols = min(cols, maxTerminalSide)
	}
	if err := pty.Setsize(s.master, cur); err != nil {
		s.log.Warn("resizing the terminal")
	}
}
