package auth

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/credentials"
)

// PeerCredentials is a grpc TransportCredentials for unix sockets that reads
// the caller's uid, gid and pid from SO_PEERCRED at connect time. It adds
// no encryption: the socket never leaves the host.
type PeerCredentials struct{}

var _ credentials.TransportCredentials = PeerCredentials{}

// ServerHandshake implements credentials.TransportCredentials.
func (PeerCredentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, nil, fmt.Errorf("peer credentials need a unix socket, got %T", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, nil, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, nil, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return nil, nil, fmt.Errorf("peer credentials: SO_PEERCRED: %w", credErr)
	}
	id := Identity{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid)}
	id.Groups = supplementaryGroups(int(cred.Pid))
	return conn, AuthInfo{
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		Identity:       id,
	}, nil
}

// supplementaryGroups reads the Groups line of /proc/<pid>/status. A caller
// that is gone already gets none (and so only its primary gid counts).
func supplementaryGroups(pid int) []int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var groups []int
		for _, g := range strings.Fields(rest) {
			if n, err := strconv.Atoi(g); err == nil {
				groups = append(groups, n)
			}
		}
		return groups
	}
	return nil
}

// ClientHandshake implements credentials.TransportCredentials; clients need
// no handshake on a unix socket.
func (PeerCredentials) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, AuthInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
}

// Info implements credentials.TransportCredentials.
func (PeerCredentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}

// Clone implements credentials.TransportCredentials.
func (PeerCredentials) Clone() credentials.TransportCredentials { return PeerCredentials{} }

// OverrideServerName implements credentials.TransportCredentials.
func (PeerCredentials) OverrideServerName(string) error { return nil }
