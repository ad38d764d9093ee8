package server

import (
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
)

// Options configure New.
type Options struct {
	Logger       *zap.Logger
	Policy       auth.Policy
	MaxRecvBytes int
	// Creds are the transport credentials: auth.PeerCredentials for the unix
	// socket, TLS for the TCP listener.
	Creds credentials.TransportCredentials
	// Observe, when set, sees every finished call (for metrics).
	Observe func(method string, code codes.Code, d time.Duration)
}

// New returns a grpc.Server serving svc plus health and reflection, and
// the health server, NOT_SERVING until the caller calls SetServing.
func New(svc nucleusv1.NucleusServer, opts Options) (*grpc.Server, *health.Server) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	ic := &interceptors{log: log, policy: opts.Policy, observe: opts.Observe}
	maxRecv := opts.MaxRecvBytes
	if maxRecv <= 0 {
		maxRecv = 16 << 20
	}
	srv := grpc.NewServer(
		grpc.Creds(opts.Creds),
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.ChainUnaryInterceptor(ic.unary),
		grpc.ChainStreamInterceptor(ic.stream),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	nucleusv1.RegisterNucleusServer(srv, svc)
	hs := newHealth()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv, hs
}
