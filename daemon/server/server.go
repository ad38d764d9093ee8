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
	// Streams bounds each caller's concurrent streaming calls (Logs,
	// Events, Exec, Stats, Run); Connections each caller's open
	// connections. Zero values mean no limit.
	Streams, Connections Limits
	// Ready, when set, is closed once the daemon has recovered its
	// containers; until then only reads are served and every other call
	// waits for it (or fails Unavailable when its context ends first).
	Ready <-chan struct{}
	// Snapshots, when set, serves nucleus.v1.SnapshotsService.
	Snapshots nucleusv1.SnapshotsServiceServer
	// Images, when set, is served as nucleus.v1.ImagesService.
	Images nucleusv1.ImagesServiceServer
	// Attach, when set, is served beside svc (AttachService).
	Attach nucleusv1.AttachServiceServer
	// Files, when set, is served beside svc (FilesService).
	Files nucleusv1.FilesServiceServer
	// Network, when set, is served as nucleus.v1.NetworkService.
	Network nucleusv1.NetworkServiceServer
}

// handshakeTimeout bounds a new connection's HTTP/2 preface: a client that
// connects and says nothing is closed after it (grpc's default is 120s).
const handshakeTimeout = 10 * time.Second

// maxConnectionIdle closes a connection without calls for this long; the
// client reconnects on its next call.
const maxConnectionIdle = 5 * time.Minute

// New returns a grpc.Server serving svc plus health and reflection, and
// the health server, NOT_SERVING until the caller calls SetServing.
func New(svc nucleusv1.NucleusServer, opts Options) (*grpc.Server, *health.Server) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	ic := &interceptors{log: log, policy: opts.Policy, observe: opts.Observe, ready: opts.Ready,
		streams: newLimiter("streaming calls", "max_streams", opts.Streams)}
	creds := credentials.TransportCredentials(limitedCreds{TransportCredentials: opts.Creds,
		lim: newLimiter("connections", "max_connections", opts.Connections)})
	maxRecv := opts.MaxRecvBytes
	if maxRecv <= 0 {
		maxRecv = 16 << 20
	}
	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: maxConnectionIdle}),
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.ChainUnaryInterceptor(ic.unary),
		grpc.ChainStreamInterceptor(ic.stream),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	nucleusv1.RegisterNucleusServer(srv, svc)
	if opts.Snapshots != nil {
		nucleusv1.RegisterSnapshotsServiceServer(srv, opts.Snapshots)
	}
	if opts.Images != nil {
		nucleusv1.RegisterImagesServiceServer(srv, opts.Images)
	}
	if opts.Attach != nil {
		nucleusv1.RegisterAttachServiceServer(srv, opts.Attach)
	}
	if opts.Files != nil {
		nucleusv1.RegisterFilesServiceServer(srv, opts.Files)
	}
	if opts.Network != nil {
		nucleusv1.RegisterNetworkServiceServer(srv, opts.Network)
	}
	hs := newHealth()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv, hs
}
