package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"hash/fnv"
	"math/big"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"nucleus.dev/nucleus/internal/errdefs"
)

// oldCertUID is how owners were derived before certificate identities
// were allocated: 30 bits of FNV-1a of the common name, so a colliding
// name was found by brute force in seconds.
func oldCertUID(cn string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(cn))
	return int(h.Sum32()|1<<31) &^ 1
}

// collidingNames share an owner under oldCertUID (both 4142414948), found
// by trying "tenant-N" for N from 0.
var collidingNames = [2]string{"tenant-97018", "tenant-180400"}

// leaf returns a certificate for subject issued by a CA named issuer.
func leaf(t *testing.T, issuer string, subject pkix.Name) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: issuer}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func tlsCtx(cert *x509.Certificate) context.Context {
	info := credentials.TLSInfo{State: tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}}
	return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: info})
}

// allocator is an in-memory CertOwners like the store's: a new owner per
// new key.
type allocator map[[32]byte]uint32

func (a allocator) owner(key [32]byte, _ string) (uint32, error) {
	if uid, ok := a[key]; ok {
		return uid, nil
	}
	a[key] = MinCertOwner + 1 + 2*uint32(len(a))
	return a[key], nil
}

// TestCertIdentities: owners follow the whole certificate identity — the
// names that collided under the old hash, subjects that differ only
// outside the common name, and equal subjects from differently named
// issuers are all different owners; the same subject and issuer again is
// the same owner.
func TestCertIdentities(t *testing.T) {
	if oldCertUID(collidingNames[0]) != oldCertUID(collidingNames[1]) {
		t.Fatal("collidingNames do not collide under the old hash")
	}
	a := allocator{}
	p := Policy{SocketGID: -1, CertOwners: a.owner}
	uidOf := func(cert *x509.Certificate) int {
		t.Helper()
		id, err := p.Authenticate(tlsCtx(cert))
		if err != nil {
			t.Fatal(err)
		}
		if id.Admin || id.MayUseHostPaths() || id.UID < MinCertOwner || id.CertSubject != cert.Subject.String() {
			t.Fatalf("identity %+v", id)
		}
		return id.UID
	}
	certs := []*x509.Certificate{
		leaf(t, "ca", pkix.Name{CommonName: collidingNames[0]}),
		leaf(t, "ca", pkix.Name{CommonName: collidingNames[1]}),
		leaf(t, "ca", pkix.Name{CommonName: "alice", Organization: []string{"one"}}),
		leaf(t, "ca", pkix.Name{CommonName: "alice", Organization: []string{"two"}}),
		leaf(t, "other-ca", pkix.Name{CommonName: "alice", Organization: []string{"one"}}),
	}
	seen := map[int]int{}
	for i, c := range certs {
		uid := uidOf(c)
		if j, dup := seen[uid]; dup {
			t.Errorf("certificates %d (%s) and %d (%s) share owner %d", j, certs[j].Subject, i, c.Subject, uid)
		}
		seen[uid] = i
	}
	renewed := leaf(t, "ca", pkix.Name{CommonName: "alice", Organization: []string{"one"}})
	if uidOf(renewed) != uidOf(certs[2]) {
		t.Error("a renewed certificate (same subject, same issuer) is a different owner")
	}
	if _, err := p.Authenticate(tlsCtx(leaf(t, "ca", pkix.Name{Organization: []string{"no-cn"}}))); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("certificate without a common name: %v", err)
	}
	if _, err := (Policy{}).Authenticate(tlsCtx(certs[0])); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("TLS caller with no owner table: %v", err)
	}
	failing := Policy{CertOwners: func([32]byte, string) (uint32, error) { return 0, errdefs.ResourceExhausted("full") }}
	if _, err := failing.Authenticate(tlsCtx(certs[0])); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("allocation failure: %v", err)
	}
	low := Policy{CertOwners: func([32]byte, string) (uint32, error) { return 1000, nil }}
	if _, err := low.Authenticate(tlsCtx(certs[0])); err == nil {
		t.Error("a certificate owner in the local uid range was accepted")
	}
}
