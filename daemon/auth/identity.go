package auth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
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
	// CertSubject is the client certificate's full subject, RFC 2253
	// (TLS callers; for people reading logs: the owner is UID).
	CertSubject string
	// Admin callers (root on the socket) see and act on every container.
	Admin bool
}

// Principal names the caller for logs: "uid:N" for socket callers,
// "cert:N:SUBJECT" for TLS callers, N being the owner uid recorded on the
// containers it creates.
func (id Identity) Principal() string {
	if id.CertSubject != "" {
		return fmt.Sprintf("cert:%d:%s", id.UID, id.CertSubject)
	}
	return fmt.Sprintf("uid:%d", id.UID)
}

// MayUseHostPaths reports whether the caller may bind host paths, use a host
// rootfs or name host files: only root on the local socket.
func (id Identity) MayUseHostPaths() bool { return id.Admin && id.CertSubject == "" }

// String is for logs.
func (id Identity) String() string {
	if id.CertSubject != "" {
		return id.Principal()
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

// Policy decides who may call at all.
type Policy struct {
	// SocketGID is the group whose members may call; -1 when none.
	SocketGID int
	// CertOwners maps a TLS client's certificate identity (CertKey) to
	// the owner uid recorded on its containers, allocating a new one the
	// first time it sees the key: the store's CertOwner, whose owners are
	// unique per key and at least MinCertOwner. Nil refuses TLS callers.
	CertOwners func(key [32]byte, subject string) (uint32, error)
}

// MinCertOwner is the lowest owner uid of a certificate identity. Socket
// callers with a uid this high are refused, so a local user never shares
// an owner with a certificate (systemd reserves these uids too: many
// tools treat uid_t as signed).
const MinCertOwner = 1 << 31

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
		return p.certIdentity(info)
	default:
		return Identity{}, errdefs.PermissionDenied("caller has no verified identity")
	}
	if id.UID >= MinCertOwner {
		return Identity{}, errdefs.PermissionDenied("uid %d may not call nucleusd: uids from %d up are the owners of certificate identities", id.UID, MinCertOwner)
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

// CertKey is a client certificate's identity: the SHA-256 of its issuer's
// and its own distinguished names, each as the DER the CA signed (one
// self-delimiting TLV each, so the pair is unambiguous). Certificates with
// any difference in subject — not only the common name — or from issuers
// with different names are different identities; a renewed certificate
// with the same subject from the same issuer is the same one.
func CertKey(cert *x509.Certificate) [32]byte {
	h := sha256.New()
	h.Write(cert.RawIssuer)
	h.Write(cert.RawSubject)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// certIdentity is the identity of a TLS caller, whose certificate the
// handshake verified against the configured client CA.
func (p Policy) certIdentity(info credentials.TLSInfo) (Identity, error) {
	certs := info.State.PeerCertificates
	if len(certs) == 0 || certs[0].Subject.CommonName == "" {
		return Identity{}, errdefs.PermissionDenied("TLS client certificate without a common name")
	}
	if p.CertOwners == nil {
		return Identity{}, errdefs.PermissionDenied("certificate identities are not enabled")
	}
	subject := certs[0].Subject.String()
	uid, err := p.CertOwners(CertKey(certs[0]), subject)
	if err != nil {
		return Identity{}, fmt.Errorf("owner of certificate %q: %w", subject, err)
	}
	if uid < MinCertOwner {
		return Identity{}, fmt.Errorf("owner %d of certificate %q is below the certificate range", uid, subject)
	}
	return Identity{UID: int(uid), GID: -1, PID: -1, CertSubject: subject}, nil
}
