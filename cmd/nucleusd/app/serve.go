package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/daemon/listen"
	"nucleus.dev/nucleus/daemon/metrics"
	"nucleus.dev/nucleus/daemon/server"
	"nucleus.dev/nucleus/daemon/service"
	"nucleus.dev/nucleus/fsapi"
	"nucleus.dev/nucleus/internal/cpuprofile"
	"nucleus.dev/nucleus/sandbox"
	"nucleus.dev/nucleus/sandbox/gvisor"
)

// shutdownGrace bounds how long in-flight calls may finish after SIGTERM.
const shutdownGrace = 10 * time.Second

// gcPercent is nucleusd's GOGC unless the environment sets one. Its live
// heap is small (a few MiB), so the default 100 collects every few MiB of
// garbage, and List answers with a copy of every record: at 100 records its
// p99 went from 6.6-7.4 ms to 4.9-5.5 ms with 400 (p50 1.6-1.9 → 1.2-1.4
// ms). memoryLimit (GOMEMLIMIT unless set) keeps what that costs bounded:
// the collector works harder only when the Go heap nears it.
const (
	gcPercent   = 400
	memoryLimit = 32 << 20
)

func serve(ctx context.Context, f Flags, explicitConfig bool) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	cfg, err := loadConfig(f.ConfigPath, explicitConfig)
	if err != nil {
		return err
	}
	level := cfg.Logging.Level
	if f.LogLevel != "" {
		level = f.LogLevel
	}
	log, err := newLogger(level, cfg.Logging.Format)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	stopProfile, err := cpuprofile.Start("nucleusd")
	if err != nil {
		return err
	}
	defer stopProfile()
	gvisor.LogTo(log) // exec and delete run gVisor's code in nucleusd
	socket := f.Address
	if socket == "" {
		socket = cfg.API.Socket
		if socket == config.Default().API.Socket && f.StateDir != "/run/nucleus" {
			socket = filepath.Join(f.StateDir, "nucleusd.sock")
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating nucleusd: %w", err)
	}
	supervise, dedicated := supervisorCommand(self)
	if !dedicated {
		log.Warn("no "+SupervisorExecutable+" next to nucleusd: supervisors re-execute nucleusd, which starts slower",
			zap.String("looked_for", filepath.Join(filepath.Dir(self), SupervisorExecutable)))
	}
	warnOnThreadLimits(log, cfg.Limits.MaxContainers)
	helperDir, herr := fsapi.InstallHelper(filepath.Join(filepath.Dir(self), fsapi.HelperName), filepath.Join(f.RootDir, "file-helper"))
	if herr != nil {
		log.Warn("no file helper: new containers get no Files API", zap.Error(herr))
	}
	copts := core.Options{
		Config: cfg, RootDir: f.RootDir, StateDir: f.StateDir, Logger: log,
		SupervisorCommand: supervise, SupervisorEnv: cpuprofile.Env(), SelfExe: self, FileHelperDir: helperDir, NewNetwork: newNetwork(cfg, f.StateDir, log),
		NewDirect: func(binary string, flags []string) (sandbox.Direct, error) {
			return gvisor.Open(binary, flags)
		},
	}
	var mx *metrics.Metrics // nil when [metrics] address is empty
	if cfg.Metrics.Address != "" {
		mx = metrics.New()
		copts.Metrics = mx
	}
	d, err := core.Open(ctx, copts)
	if err != nil {
		return err
	}
	defer d.Close()
	if mx != nil {
		stopMetrics, err := serveMetrics(ctx, log, mx, cfg.Metrics.Address, d)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	gid, gerr := listen.GroupID(cfg.API.SocketGroup)
	if gerr != nil {
		log.Warn("socket group not found; the socket is root-only (0600)", zap.String("group", cfg.API.SocketGroup), zap.Error(gerr))
	}
	l, inherited, err := listen.Unix(socket, gid)
	if err != nil {
		return err
	}
	imgSvc, err := openImages(d, cfg, f.RootDir, log, mx)
	if err != nil {
		return err
	}
	svc := service.New(d, cfg, f.RootDir, f.StateDir)
	lim := cfg.Limits
	opts := server.Options{Logger: log.Named("api"), Policy: auth.Policy{SocketGID: gid, CertOwners: d.CertOwner}, MaxRecvBytes: int(cfg.API.MaxRecvBytes), Creds: auth.PeerCredentials{},
		Streams:     server.Limits{PerCaller: lim.MaxStreamsPerUID, Root: lim.MaxStreamsRoot, Total: lim.MaxStreams},
		Connections: server.Limits{PerCaller: lim.MaxConnectionsPerUID, Root: lim.MaxConnectionsRoot, Total: lim.MaxConnections},
		Ready:       d.Recovered(),
		Snapshots:   service.NewSnapshots(d),
		Images:      imgSvc,
		Files:       service.NewFiles(d, cfg, log.Named("files")),
		Attach:      service.NewAttach(d),
		Network:     service.NewNetwork(d),
	}
	if mx != nil {
		opts.Observe = mx.Observe
	}
	srv, hs := server.New(svc, opts)
	servers, healths := []*grpc.Server{srv}, []*health.Server{hs}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(l) }()
	if cfg.API.TCPAddress != "" {
		tlsCfg, err := listen.TLSConfig(cfg.API.TLSCert, cfg.API.TLSKey, cfg.API.TLSClientCA)
		if err != nil {
			return err
		}
		tl, err := net.Listen("tcp", cfg.API.TCPAddress)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.API.TCPAddress, err)
		}
		opts.Creds = credentials.NewTLS(tlsCfg)
		tsrv, thealth := server.New(svc, opts)
		servers, healths = append(servers, tsrv), append(healths, thealth)
		go func() { errc <- tsrv.Serve(tl) }()
		log.Info("mTLS listener", zap.String("address", tl.Addr().String()))
	}
	_, _ = daemon.SdNotify(false, "STATUS=recovering containers; serving reads")
	log.Info("listening; reads are served while containers are recovered", zap.String("socket", socket), zap.Bool("socket_activated", inherited))
	stop, err := awaitStop(log, sigs, errc, d.Recovered())
	if err != nil {
		return err
	}
	if !stop {
		for _, h := range healths {
			server.SetServing(h, true)
		}
		log.Info("nucleusd ready", zap.String("socket", socket), zap.Bool("socket_activated", inherited),
			zap.String("root", f.RootDir), zap.String("state", f.StateDir), zap.String("runsc", d.RunscVersion()))
		_, _ = daemon.SdNotify(false, daemon.SdNotifyReady+"\nSTATUS=serving")
		if _, err := awaitStop(log, sigs, errc, nil); err != nil {
			return err
		}
	}
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	for _, h := range healths {
		h.Shutdown() // NOT_SERVING from now on
	}
	stopped := make(chan struct{})
	go func() {
		for _, s := range servers {
			s.GracefulStop()
		}
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(shutdownGrace):
		log.Warn("in-flight calls did not finish in time; closing them", zap.Duration("grace", shutdownGrace))
		for _, s := range servers {
			s.Stop()
		}
	}
	return nil
}

// awaitStop waits for a stop signal or a stopped server (stop is true) or
// for ready to close (when non-nil); only a failed server is an error.
func awaitStop(log *zap.Logger, sigs <-chan os.Signal, errc <-chan error, ready <-chan struct{}) (stop bool, err error) {
	select {
	case <-ready:
		return false, nil
	case sig := <-sigs:
		log.Info("stopping; containers keep running", zap.String("signal", sig.String()))
	case err := <-errc:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			log.Error("server failed", zap.Error(err))
			return true, err
		}
	}
	return true, nil
}

// serveMetrics starts the Prometheus endpoint on address; the returned func
// shuts it down. A non-loopback address is allowed with a warning: the
// endpoint has no authentication.
func serveMetrics(ctx context.Context, log *zap.Logger, mx *metrics.Metrics, address string, d *core.Daemon) (func(), error) {
	if err := mx.WatchContainers(func() (map[nucleusv1.ContainerState]int, error) {
		counts, _, err := d.Counts()
		return counts, err
	}); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("metrics listener on %s: %w", address, err)
	}
	if !metrics.IsLoopback(address) {
		log.Warn("the metrics endpoint is reachable from other hosts and has no authentication; prefer a loopback address", zap.String("address", address))
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mx.Serve(ctx, l); err != nil {
			log.Error("metrics endpoint failed", zap.Error(err))
		}
	}()
	log.Info("metrics endpoint", zap.String("address", l.Addr().String()), zap.String("url", "http://"+l.Addr().String()+"/metrics"))
	return func() { cancel(); <-done }, nil
}

// supervisorCommand is how nucleusd starts a container's supervisor: the
// dedicated nucleus-supervisor executable next to nucleusd when there is
// one (dedicated), else nucleusd itself in its hidden supervise mode.
func supervisorCommand(self string) (cmd []string, dedicated bool) {
	p := filepath.Join(filepath.Dir(self), SupervisorExecutable)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && unix.Access(p, unix.X_OK) == nil {
		return []string{p}, true
	}
	return []string{self, SuperviseCommand}, false
}
