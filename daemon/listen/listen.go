// Package listen opens nucleusd's API listeners: the unix socket (created
// 0660 with the configured group, or inherited from systemd socket
// activation) and the optional mTLS TCP listener.
package listen

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/coreos/go-systemd/v22/activation"
)

// GroupID resolves a group name (or numeric id) to its gid; -1 with an error
// when the host has no such group.
func GroupID(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("socket group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// Unix returns the API listener: the first unix socket inherited through
// LISTEN_FDS when there is one, else a new socket at path, mode 0660, group
// gid (root-only 0600 when gid < 0). A stale socket file is replaced; any
// other file at path is an error.
func Unix(path string, gid int) (net.Listener, bool, error) {
	inherited, err := activation.Listeners()
	if err != nil {
		return nil, false, fmt.Errorf("socket activation: %w", err)
	}
	for _, l := range inherited {
		if l == nil {
			continue
		}
		if l.Addr().Network() == "unix" {
			return l, true, nil
		}
		_ = l.Close()
	}
	if len(path) > 0 && path[0] == '@' {
		return nil, false, errors.New("abstract unix sockets are refused: give a filesystem path")
	}
	if !filepath.IsAbs(path) {
		return nil, false, fmt.Errorf("socket path %q must be absolute", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, false, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			_ = c.Close()
			return nil, false, fmt.Errorf("%s is in use: another nucleusd is running", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, false, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	// Create the socket under a tight umask-equivalent: bind, then chmod and
	// chown before anyone but root could use it (its directory is 0711).
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, false, fmt.Errorf("listen on %s: %w", path, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	mode := os.FileMode(0o600)
	if gid >= 0 {
		mode = 0o660
		if err := os.Chown(path, 0, gid); err != nil {
			_ = l.Close()
			return nil, false, fmt.Errorf("chown socket to gid %d: %w", gid, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		_ = l.Close()
		return nil, false, fmt.Errorf("chmod socket: %w", err)
	}
	return l, false, nil
}

// TLSConfig builds the server side of mutual TLS: a client certificate
// signed by clientCA is required.
func TLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	caPEM, err := os.ReadFile(clientCAFile)
	if err != nil {
		return nil, fmt.Errorf("read client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("client CA %s holds no PEM certificate", clientCAFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}
