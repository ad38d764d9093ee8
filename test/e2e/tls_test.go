package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a leaf certificate and key for cn into dir and returns
// their paths.
func (ca *testCA) issue(t *testing.T, dir, cn string, server bool) (certFile, keyFile string) {
	t.Helper()
	return ca.issueSubject(t, dir, pkix.Name{CommonName: cn}, server)
}

// issueWithOrg is issue for a client certificate whose subject also has an
// organization.
func (ca *testCA) issueWithOrg(t *testing.T, dir, cn, org string) (certFile, keyFile string) {
	t.Helper()
	return ca.issueSubject(t, dir, pkix.Name{CommonName: cn, Organization: []string{org}}, false)
}

func (ca *testCA) issueSubject(t *testing.T, dir string, subject pkix.Name, server bool) (certFile, keyFile string) {
	t.Helper()
	cn := subject.CommonName
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startTLSDaemon starts a daemon with an mTLS listener on a free port
// (server certificate srvCert/srvKey, client CA caFile) and returns it, the
// listener's address and a dial that connects with a client certificate
// (closed at cleanup).
func startTLSDaemon(t *testing.T, ctx context.Context, srvCert, srvKey, caFile string) (*Daemon, string, func(certFile, keyFile string) *client.Client) {
	t.Helper()
	addr := freePort(t)
	d := StartDaemon(t, DaemonOptions{Config: fmt.Sprintf("[api]\nsocket_group = \"root\"\ntcp_address = %q\ntls_cert = %q\ntls_key = %q\ntls_client_ca = %q\n",
		addr, srvCert, srvKey, caFile)})
	dial := func(certFile, keyFile string) *client.Client {
		t.Helper()
		c, err := client.New(ctx, "tcp://"+addr, client.WithTLS(caFile, certFile, keyFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return d, addr, dial
}

// TestE2ETLSListenerRequiresClientCertificates: the TCP listener serves
// only clients with a certificate from the configured CA, and each
// certificate name owns its own containers.
func TestE2ETLSListenerRequiresClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, other := newCA(t, "nucleus-test-ca"), newCA(t, "someone-else")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey := ca.issue(t, dir, "nucleusd", true)
	aliceCert, aliceKey := ca.issue(t, dir, "alice", false)
	bobCert, bobKey := ca.issue(t, dir, "bob", false)
	malloryDir := filepath.Join(dir, "mallory")
	_ = os.Mkdir(malloryDir, 0o700)
	malCert, malKey := other.issue(t, malloryDir, "alice", false)
	ctx := ctxT(t, 60*time.Second)
	d, addr, dial := startTLSDaemon(t, ctx, srvCert, srvKey, caFile)
	alice, bob := dial(aliceCert, aliceKey), dial(bobCert, bobKey)
	ct, err := alice.Create(ctx, sh("true"))
	if err != nil {
		t.Fatalf("alice create over mTLS: %v", err)
	}
	if _, err := bob.Get(ctx, ct.GetId()); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("bob sees alice's container: %v", err)
	}
	hostPath := sh("true")
	hostPath.Rootfs = "/"
	if _, err := alice.Create(ctx, hostPath); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("TLS caller with a host rootfs: %v, want PermissionDenied", err)
	}
	// A certificate from another CA, even with the same name, is refused.
	if _, err := dial(malCert, malKey).List(ctx, nil); err == nil {
		t.Fatal("a certificate from another CA was accepted")
	}
	// No client certificate at all: the handshake fails.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	anon, err := client.New(ctx, "tcp://"+addr, client.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.List(ctx, &nucleusv1.ListRequest{}); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if _, err := d.Client().Get(ctx, ct.GetId()); err != nil {
		t.Fatalf("root on the socket sees every container: %v", err)
	}
}
