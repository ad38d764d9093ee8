package client

import (
	"crypto/tls"
	"crypto/x509"
	"os"

	"google.golang.org/grpc/credentials"

	"nucleus.dev/nucleus/internal/errdefs"
)

// WithTLS sets up mutual TLS for tcp:// addresses: the daemon's certificate
// must chain to the CA in caFile, and the client presents certFile/keyFile.
// All three are required. Unix addresses ignore it.
func WithTLS(caFile, certFile, keyFile string) Option {
	return func(o *options) error {
		if caFile == "" || certFile == "" || keyFile == "" {
			return errdefs.InvalidArgument("mutual TLS needs a CA certificate, a client certificate and its key")
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return errdefs.InvalidArgument("load TLS client key pair: %v", err)
		}
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return errdefs.InvalidArgument("read TLS CA: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return errdefs.InvalidArgument("TLS CA %s holds no PEM certificate", caFile)
		}
		return WithTLSConfig(&tls.Config{
			Certificates: []tls.Certificate{cert},
			RootCAs:      pool,
			MinVersion:   tls.VersionTLS13,
		})(o)
	}
}

// WithTLSConfig uses cfg for tcp:// addresses.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) error {
		o.tls = credentials.NewTLS(cfg)
		return nil
	}
}
