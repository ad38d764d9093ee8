package containerdshim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// SocketDir holds the shims' ttrpc sockets: root's alone (0700), each
// socket 0600, and the server checks the peer is the shim's own uid.
const SocketDir = "/run/nucleus-shim"

// socketPath is unique per containerd (its address), namespace and task,
// and short enough for a unix socket whatever their lengths.
func socketPath(f *flags) string {
	sum := sha256.Sum256([]byte(f.address + "\x00" + f.namespace + "\x00" + f.id))
	return filepath.Join(SocketDir, hex.EncodeToString(sum[:16])+".sock")
}

// start launches the long-running shim server for the task (or finds the
// one already running) and prints its ttrpc address: the plain-address
// answer containerd 1.6 expects and 2.x accepts as a version 2 shim. The
// address is also written to <bundle>/address, where containerd 1.6 looks
// after a restart.
func start(ctx context.Context, f *flags, stdout io.Writer) error {
	path := socketPath(f)
	address := "unix://" + path
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		return announce(f, address, stdout)
	}
	if err := os.MkdirAll(SocketDir, 0o700); err != nil {
		return fmt.Errorf("socket dir: %w", err)
	}
	if err := os.Chmod(SocketDir, 0o700); err != nil {
		return fmt.Errorf("socket dir: %w", err)
	}
	_ = os.Remove(path) // a dead shim's
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen %s: %w", path, err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	defer ul.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("socket mode: %w", err)
	}
	lf, err := ul.File()
	if err != nil {
		return fmt.Errorf("socket file: %w", err)
	}
	defer lf.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-namespace", f.namespace, "-id", f.id, "-address", f.address, "-bundle", f.bundle, "-nucleusd", f.nucleusd}
	if f.debug {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = f.bundle
	cmd.ExtraFiles = []*os.File{lf} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = os.Environ()
	// stdin, stdout, stderr: /dev/null; the server logs to <bundle>/log.
	if err := cmd.Start(); err != nil {
		os.Remove(path)
		return fmt.Errorf("start the shim server: %w", err)
	}
	go cmd.Wait() //nolint:errcheck // reaped if it dies before we return
	return announce(f, address, stdout)
}

func announce(f *flags, address string, stdout io.Writer) error {
	if err := os.WriteFile(filepath.Join(f.bundle, "address"), []byte(address), 0o600); err != nil {
		return fmt.Errorf("write the address file: %w", err)
	}
	_, err := io.WriteString(stdout, address)
	return err
}
