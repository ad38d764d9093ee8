package auth

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Identity is a caller as the transport proved it.
type Identity struct {
	// UID, GID and PID come from SO_PEERCRED (unix socket callers).
	UID, GID, PID int
	// Groups are the caller's supplementary groups, read at connect time.
	Groups []int
	// CertSubject is the client certificate's common name (TLS callers).
	CertSubject string
	// Admin callers (root on the socket) see and act on every container.
	Admin bool
}

// Principal is the owner key recorded on the containers this identity
// creates: "uid:N" for socket callers, "cert:CN" for TLS callers.
func (id Identity) Principal() string {
	if id.CertSubject != "" {
		return "cert:" + id.CertSubject
	}
	return fmt.Sprintf("uid:%d", id.UID)
}

// MayUseHostPaths reports whether the caller may bind host paths, use a host
// rootfs or name host files: only root on the local socket.
func (id Identity) MayUseHostPaths() bool { return id.Admin && id.CertSubject == "" }

// String is for logs.
func (id Identity) String() string {
	if id.CertSubject != "" {
		return "cert:" + id.CertSubject
	}
	return fmt.Sprintf("uid=%d gid=%d pid=%d", id.UID, id.GID, id.PID)
}

// AuthInfo carries an Identity through grpc's peer information.
type AuthInfo struct {
	credentials.CommonAuthInfo
	Identity Identity
}

// AuthType implements credentials.AuthInfo.
func (AuthInfo) AuthType() string { return "nucleus-peer" }

type ctxKey struct{}

// WithIdentity returns ctx carrying id (set by the auth interceptor).
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller's identity set by the interceptor.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// CertUID maps a TLS client's common name to the owner uid recorded on its
// containers: a stable value in [2^31, 2^32-2], above the uids of local
// users, so certificate identities and socket callers never share
// containers and each certificate name owns its own.
func CertUID(cn string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(cn))
	return int(h.Sum32()|1<<31) &^ 1
}

// Policy decides who may call at all.
type Policy struct {
	// SocketGID is the group whose members may call; -1 when none.
	SocketGID int
}

// Authenticate derives and checks the caller of ctx.
func (p Policy) Authenticate(ctx context.Context) (Identity, error) {
	pr, ok := peer.FromContext(ctx)
	if !ok || pr.AuthInfo == nil {
		return Identity{}, errdefs.PermissionDenied("caller has no verified identity")
	}
	var id Identity
	switch info := pr.AuthInfo.(type) {
	case AuthInfo:
		id = info.Identity
	case credentials.TLSInfo:
		certs := info.State.PeerCertificates
		if len(certs) == 0 || certs[0].Subject.CommonName == "" {
			return Identity{}, errdefs.PermissionDenied("TLS client certificate without a common name")
		}
		cn := certs[0].Subject.CommonName
		return Identity{UID: CertUID(cn), GID: -1, PID: -1, CertSubject: cn}, nil
	default:
		return Identity{}, errdefs.PermissionDenied("caller has no verified identity")
	}
	if id.UID == 0 {
		id.Admin = true
		return id, nil
	}
	if p.SocketGID >= 0 && (id.GID == p.SocketGID || slices.Contains(id.Groups, p.SocketGID)) {
		return id, nil
	}
	return Identity{}, errdefs.PermissionDenied("uid %d may not call nucleusd: only root and members of the socket group may", id.UID)
}
