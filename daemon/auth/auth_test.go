package auth

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/peer"

	"nucleus.dev/nucleus/internal/errdefs"
)

func ctxWith(id Identity) context.Context {
	return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: AuthInfo{Identity: id}})
}

func TestAuthenticate(t *testing.T) {
	p := Policy{SocketGID: 990}
	cases := []struct {
		name  string
		id    Identity
		ok    bool
		admin bool
	}{
		{"root", Identity{UID: 0, GID: 0}, true, true},
		{"primary group", Identity{UID: 1000, GID: 990}, true, false},
		{"supplementary group", Identity{UID: 1000, GID: 1000, Groups: []int{4, 990}}, true, false},
		{"stranger", Identity{UID: 1000, GID: 1000, Groups: []int{4}}, false, false},
		{"uid in the certificate range", Identity{UID: MinCertOwner + 1, GID: 990}, false, false},
		{"highest uid", Identity{UID: 1<<32 - 2, GID: 990}, false, false},
	}
	for _, c := range cases {
		id, err := p.Authenticate(ctxWith(c.id))
		if c.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
			continue
		}
		if err != nil && !errors.Is(err, errdefs.ErrPermissionDenied) {
			t.Errorf("%s: err kind = %v, want PermissionDenied", c.name, err)
		}
		if err == nil && id.Admin != c.admin {
			t.Errorf("%s: admin = %v, want %v", c.name, id.Admin, c.admin)
		}
	}
	if _, err := (Policy{SocketGID: -1}).Authenticate(ctxWith(Identity{UID: 5, GID: 5})); err == nil {
		t.Error("with no socket group only root may call")
	}
	if _, err := p.Authenticate(context.Background()); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("no peer: err = %v, want PermissionDenied", err)
	}
}

func TestPrincipal(t *testing.T) {
	if got := (Identity{UID: 1000}).Principal(); got != "uid:1000" {
		t.Errorf("Principal = %q", got)
	}
	if got := (Identity{UID: MinCertOwner + 1, CertSubject: "CN=ci"}).Principal(); got != "cert:2147483649:CN=ci" {
		t.Errorf("Principal = %q", got)
	}
	if (Identity{Admin: true, CertSubject: "x"}).MayUseHostPaths() {
		t.Error("TLS callers never use host paths")
	}
}

func TestPeerCredentialsReadsKernelCredentials(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := net.Dial("unix", sock)
		if err == nil {
			defer c.Close()
			buf := make([]byte, 1)
			_, _ = c.Read(buf)
		}
	}()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, info, err := PeerCredentials{}.ServerHandshake(conn)
	if err != nil {
		t.Fatal(err)
	}
	id := info.(AuthInfo).Identity
	if id.UID != os.Getuid() || id.GID != os.Getgid() || id.PID != os.Getpid() {
		t.Fatalf("identity %+v, want uid=%d gid=%d pid=%d", id, os.Getuid(), os.Getgid(), os.Getpid())
	}
}
