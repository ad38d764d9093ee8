package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/cpuprofile"
)

// env is one benchmark run's world: a private nucleusd and a private raw
// runsc root, both under one temporary directory that cleanup removes.
type env struct {
	cfg  *config
	base string // the temporary directory everything lives in

	daemon     *exec.Cmd
	daemonLog  *os.File
	daemonDone chan struct{}
	sock       string
	stateDir   string
	rootDir    string
	c          *client.Client

	raw *raw
	cpu *cpuGroup // nil when cgroup v1 cpuacct is missing
}

// newEnv makes the directories, starts nucleusd and connects to it.
func newEnv(ctx context.Context, cfg *config) (*env, error) {
	base, err := os.MkdirTemp("", "nucleus-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, base: base}
	// Searchable, as /var/lib is: each sandbox's gofer runs as its user
	// namespace's unprivileged root and must reach its rootfs under root/.
	if err := os.Chmod(base, 0o711); err != nil {
		return e, err
	}
	// Runtime state goes where it lives in production: nucleusd's --state
	// is /run/nucleus and runsc's default --root /run/runsc, a tmpfs on a
	// systemd host. Both sides get one here (this machine's /run is not).
	run := filepath.Join(base, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		return e, err
	}
	if cfg.runTmpfs {
		if err := unix.Mount("tmpfs", run, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
			return e, fmt.Errorf("tmpfs for runtime state at %s: %w", run, err)
		}
	}
	e.rootDir = filepath.Join(base, "root")
	e.stateDir = filepath.Join(run, "nucleus")
	e.sock = filepath.Join(e.stateDir, "nucleusd.sock")
	e.raw = newRaw(cfg.runsc, filepath.Join(base, "raw"), filepath.Join(run, "runsc"), cfg.runscFlags)
	if e.cpu, err = newCPUGroup(); err != nil {
		return e, fmt.Errorf("cpuacct group: %w", err)
	}
	if err := e.raw.init(); err != nil {
		return e, err
	}
	if err := e.startDaemon(ctx); err != nil {
		return e, err
	}
	return e, nil
}

// daemonConfig is the TOML nucleusd runs with: the minimal config plus
// limits large enough for the control-plane figure.
func (e *env) daemonConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\n[runsc]\npath = %q\n", e.cfg.runsc)
	if len(e.cfg.runscFlags) > 0 {
		b.WriteString("extra_flags = [")
		for i, f := range e.cfg.runscFlags {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", f)
		}
		b.WriteString("]\n")
	}
	b.WriteString("[api]\nsocket_group = \"root\"\n")
	b.WriteString("[limits]\nmax_containers = 2000\nmax_containers_per_uid = 2000\n")
	// The ctr figure's containerd mounts task roots under its state dir.
	fmt.Fprintf(&b, "[security]\nallowed_host_paths = [%q]\n", e.ctrdStateDir())
	if e.cfg.daemonExtra != "" {
		b.WriteString(strings.ReplaceAll(e.cfg.daemonExtra, `\n`, "\n") + "\n")
	}
	return b.String()
}

// daemonEnv is the environment of every nucleusd the bench starts: its
// own, with the CPU profile directory when asked for.
func (e *env) daemonEnv() []string {
	env := os.Environ()
	if e.cfg.cpuProfile != "" {
		env = append(env, cpuprofile.EnvVar+"="+e.cfg.cpuProfile)
	}
	return env
}

func (e *env) startDaemon(ctx context.Context) error {
	conf := filepath.Join(e.base, "nucleusd.toml")
	if err := os.WriteFile(conf, []byte(e.daemonConfig()), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(e.base, "nucleusd.log"))
	if err != nil {
		return err
	}
	e.daemonLog = logf
	cmd := exec.Command(e.cfg.nucleusd, "--config", conf, "--root", e.rootDir, "--state", e.stateDir,
		"--log-level", e.cfg.daemonLogLevel)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = e.daemonEnv()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting nucleusd: %w", err)
	}
	e.daemon = cmd
	e.daemonDone = make(chan struct{})
	go func() { _ = cmd.Wait(); close(e.daemonDone) }()
	// gRPC's reconnect backoff starts at 1 s: a client made before the
	// socket exists would answer no sooner than that, whatever nucleusd
	// does, and the restart figure would measure gRPC's backoff.
	quickRetry := grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1.5, MaxDelay: 50 * time.Millisecond},
		MinConnectTimeout: time.Second,
	})
	c, err := client.New(ctx, "unix://"+e.sock, client.WithDialOptions(quickRetry))
	if err != nil {
		return err
	}
	e.c = c
	deadline := time.Now().Add(30 * time.Second)
	for {
		vctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Version(vctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-e.daemonDone:
			return fmt.Errorf("nucleusd exited at start; see %s", logf.Name())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nucleusd did not answer within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// daemonPid is nucleusd's pid, 0 when it is not running.
func (e *env) daemonPid() int {
	if e.daemon == nil || e.daemon.Process == nil {
		return 0
	}
	return e.daemon.Process.Pid
}

// cli runs nucleusctl against the private daemon and returns how long it took.
func (e *env) cli(ctx context.Context, args ...string) (time.Duration, error) {
	argv := append([]string{"--address", "unix://" + e.sock}, args...)
	cmd := exec.CommandContext(ctx, e.cfg.nucleusctl, argv...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("nucleusctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return d, nil
}
