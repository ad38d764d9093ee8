package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/testutil"
)

// notifyMsg is one sd_notify datagram and what the API socket did when it
// arrived.
type notifyMsg struct {
	text     string
	answered error // a Version call made on arrival; nil = answered
}

// notifySocket listens where NOTIFY_SOCKET points, as systemd would, and
// calls the daemon's socket the moment each datagram arrives.
func notifySocket(t *testing.T, apiSocket string) (string, <-chan notifyMsg) {
	t.Helper()
	dir, err := os.MkdirTemp("", "nucleus-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan notifyMsg, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- notifyMsg{text: string(buf[:n]), answered: callVersion(apiSocket, 2*time.Second)}
		}
	}()
	return path, msgs
}

// callVersion makes one Version call on a unix socket, without retrying.
func callVersion(socket string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := client.New(ctx, "unix://"+socket)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Version(ctx)
	return err
}

func nextNotify(t *testing.T, msgs <-chan notifyMsg, timeout time.Duration) notifyMsg {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("notify socket closed")
		}
		return m
	case <-time.After(timeout):
		t.Fatalf("no sd_notify message within %v", timeout)
	}
	return notifyMsg{}
}

// slowVersionRunsc points the daemon's config at a runsc wrapper whose
// --version (called while the core opens, before the socket exists) takes a
// second, so the window between "recovering" and READY is wide enough to
// observe.
func slowVersionRunsc(t *testing.T, d *Daemon) {
	t.Helper()
	wrapper := filepath.Join(d.Dir, "runsc-slow-version")
	script := fmt.Sprintf("#!/bin/sh\ncase \" $* \" in *\" --version \"*) sleep 1;; esac\nexec %q \"$@\"\n", d.Runsc)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(cfg), strconv.Quote(d.Runsc), strconv.Quote(wrapper), 1)
	if out == string(cfg) {
		t.Fatalf("runsc path not found in %s", d.ConfigPath)
	}
	if err := os.WriteFile(d.ConfigPath, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestE2ENotifyReadyAfterSocketAnswersStoppingOnSIGTERM(t *testing.T) {
	d := NewDaemon(t, DaemonOptions{})
	slowVersionRunsc(t, d)
	path, msgs := notifySocket(t, d.Socket)
	t0 := time.Now()
	d.Start("NOTIFY_SOCKET=" + path)
	t.Logf("started after %v", time.Since(t0))

	// The first message is sent once the socket listens and recovery
	// runs: reads are answered already, READY=1 waits for recovery.
	first := nextNotify(t, msgs, 30*time.Second)
	if !strings.Contains(first.text, "STATUS=") || !strings.Contains(first.text, "serving reads") || strings.Contains(first.text, "READY=1") {
		t.Fatalf("first notify message = %q, want a STATUS saying reads are served, before READY", first.text)
	}
	if first.answered != nil {
		t.Errorf("the socket did not answer a read at %q: %v", first.text, first.answered)
	}
	ready := nextNotify(t, msgs, 30*time.Second)
	if !strings.Contains(ready.text, "READY=1") {
		t.Fatalf("second notify message = %q, want READY=1", ready.text)
	}
	if ready.answered != nil {
		t.Errorf("READY=1 arrived but a Version call made at once failed: %v", ready.answered)
	}

	t.Logf("ready checked after %v", time.Since(t0))
	d.Stop()
	t.Logf("stopped after %v", time.Since(t0))
	stopping := nextNotify(t, msgs, 10*time.Second)
	if !strings.Contains(stopping.text, "STOPPING=1") {
		t.Errorf("notify message after SIGTERM = %q, want STOPPING=1", stopping.text)
	}
	select {
	case m, ok := <-msgs:
		if ok {
			t.Errorf("unexpected notify message after STOPPING=1: %q", m.text)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// activatedDaemon is a nucleusd started the way systemd starts a
// socket-activated service: the listener as fd 3, LISTEN_FDS=1 and
// LISTEN_PID set to the daemon's own pid (a shell sets it, then execs).
type activatedDaemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startActivated(t *testing.T, d *Daemon, l *net.UnixListener) *activatedDaemon {
	t.Helper()
	f, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logf, err := os.OpenFile(filepath.Join(d.Dir, "nucleusd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=nucleusd.socket; export LISTEN_PID LISTEN_FDS LISTEN_FDNAMES; exec "$0" "$@"`,
		d.Bin, "--config", d.ConfigPath, "--root", d.Root, "--state", d.State, "--log-level", "debug")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &activatedDaemon{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	t.Cleanup(a.stop)
	return a
}

func (a *activatedDaemon) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

func TestE2EListenFDsInheritedSocket(t *testing.T) {
	d := NewDaemon(t, DaemonOptions{})
	sock := filepath.Join(d.Dir, "activated.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	// A call made before the daemon runs waits in the listen backlog, as it
	// does while systemd holds the socket across a restart.
	early := make(chan error, 1)
	go func() { early <- callVersion(sock, 60*time.Second) }()
	time.Sleep(200 * time.Millisecond)

	a := startActivated(t, d, l)
	select {
	case err := <-early:
		if err != nil {
			t.Fatalf("Version through the inherited socket: %v\n%s", err, d.Log())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no answer through the inherited socket; log:\n%s", d.Log())
	}
	if _, err := os.Stat(d.Socket); !os.IsNotExist(err) {
		t.Errorf("the daemon created its own socket %s although one was inherited (stat: %v)", d.Socket, err)
	}
	if !strings.Contains(d.Log(), `"socket_activated":true`) {
		t.Errorf("the daemon did not log socket_activated=true")
	}
	a.stop()

	// The socket survives the daemon (it is systemd's); the next daemon
	// takes the same socket and answers a call queued while none ran.
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the inherited socket file is gone after the daemon stopped: %v", err)
	}
	queued := make(chan error, 1)
	go func() { queued <- callVersion(sock, 60*time.Second) }()
	time.Sleep(200 * time.Millisecond)
	startActivated(t, d, l)
	if err := <-queued; err != nil {
		t.Fatalf("Version queued across a restart: %v", err)
	}
	c, err := client.New(context.Background(), "unix://"+sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t, 60*time.Second)
	ex, _, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/true"}, AutoRemove: true}, client.RunOptions{})
	if err != nil || ex.GetExitCode() != 0 {
		t.Fatalf("run through the inherited socket: %v %v", ex, err)
	}
}

// metricsAddress finds the address the daemon logged for its metrics
// endpoint (the config asks for port 0).
func metricsAddress(t *testing.T, d *Daemon) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(d.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Msg     string `json:"msg"`
			Address string `json:"address"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "metrics endpoint" && e.Address != "" {
			return e.Address
		}
	}
	t.Fatalf("no metrics endpoint in the log:\n%s", d.Log())
	return ""
}

// scrape returns the samples of a /metrics scrape keyed by
// `name{labels}` exactly as exposed (labels sorted by name).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v\n%s", resp.StatusCode, err, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// expectMetrics scrapes until every want holds (the server observes a call
// just after the client sees its last message) or fails after 10 s.
func expectMetrics(t *testing.T, addr string, want map[string]float64) map[string]float64 {
	t.Helper()
	var got map[string]float64
	var bad []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		got, bad = scrape(t, addr), nil
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				bad = append(bad, fmt.Sprintf("%s = %v (present %v), want %v", k, g, ok, v))
			}
		}
		if len(bad) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, b := range bad {
		t.Error(b)
	}
	return got
}

func containerGauges(created, running, exited float64) map[string]float64 {
	return map[string]float64{
		`nucleus_containers{state="creating"}`: 0,
		`nucleus_containers{state="created"}`:  created,
		`nucleus_containers{state="running"}`:  running,
		`nucleus_containers{state="paused"}`:   0,
		`nucleus_containers{state="exited"}`:   exited,
	}
}

func merge(ms ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func lifecycleCounts(create, start, stop float64) map[string]float64 {
	return map[string]float64{
		`nucleus_lifecycle_duration_seconds_count{op="create"}`: create,
		`nucleus_lifecycle_duration_seconds_count{op="start"}`:  start,
		`nucleus_lifecycle_duration_seconds_count{op="stop"}`:   stop,
		`nucleus_lifecycle_errors_total{op="create"}`:           0,
		`nucleus_runsc_errors_total{subcommand="create"}`:       0,
		`nucleus_runsc_errors_total{subcommand="start"}`:        0,
	}
}

func grpcOK(method string) string {
	return fmt.Sprintf(`grpc_server_handled_total{grpc_code="OK",grpc_method=%q,grpc_service="nucleus.v1.Nucleus"}`, method)
}

func TestE2EMetricsAfterRunAndLifecycle(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[metrics]\naddress = \"127.0.0.1:0\"\n"})
	addr := metricsAddress(t, d)
	c := d.Client()
	ctx := ctxT(t, 120*time.Second)

	before := expectMetrics(t, addr, merge(containerGauges(0, 0, 0), lifecycleCounts(0, 0, 0)))
	builds := 0
	for k, v := range before {
		if strings.HasPrefix(k, "nucleus_build_info{") && v == 1 {
			builds++
		}
	}
	if builds != 1 {
		t.Errorf("want one nucleus_build_info series at 1, got %d", builds)
	}

	// Run = one create that also starts: the core times it as "create".
	began := time.Now()
	ex, id, err := c.Run(ctx, &nucleusv1.ContainerSpec{Args: []string{"/bin/true"}, AutoRemove: true}, client.RunOptions{})
	runTook := time.Since(began).Seconds()
	if err != nil || ex.GetExitCode() != 0 {
		t.Fatalf("run: %v %v", ex, err)
	}
	waitGone(t, c, id)
	got := expectMetrics(t, addr, merge(containerGauges(0, 0, 0), lifecycleCounts(1, 0, 0), map[string]float64{grpcOK("Run"): 1}))
	if s := got[`nucleus_lifecycle_duration_seconds_sum{op="create"}`]; s <= 0 || s > runTook {
		t.Errorf("create latency sum = %vs, want in (0, %v] (the whole Run call)", s, runTook)
	}
	if got[`nucleus_lifecycle_duration_seconds_bucket{op="create",le="+Inf"}`] != 1 {
		t.Errorf("create histogram +Inf bucket != 1")
	}

	// Create, start and stop one by one: each is timed and the gauge
	// follows the container's state.
	ct, err := c.Create(ctx, sh("sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	expectMetrics(t, addr, merge(containerGauges(1, 0, 0), lifecycleCounts(2, 0, 0), map[string]float64{grpcOK("Create"): 1}))
	if _, err := c.Start(ctx, ct.GetId()); err != nil {
		t.Fatal(err)
	}
	expectMetrics(t, addr, merge(containerGauges(0, 1, 0), lifecycleCounts(2, 1, 0), map[string]float64{grpcOK("Start"): 1}))
	if _, err := c.Stop(ctx, &nucleusv1.StopRequest{Id: ct.GetId(), GracePeriod: durationpb.New(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got = expectMetrics(t, addr, merge(containerGauges(0, 0, 1), lifecycleCounts(2, 1, 1), map[string]float64{grpcOK("Stop"): 1}))
	if got[`nucleus_lifecycle_duration_seconds_sum{op="stop"}`] <= 0 {
		t.Errorf("stop latency sum is 0")
	}

	// A refused call is counted under its code.
	notFound := `grpc_server_handled_total{grpc_code="NotFound",grpc_method="Get",grpc_service="nucleus.v1.Nucleus"}`
	n := got[notFound] // waitGone polled Get until NotFound
	if _, err := c.Get(ctx, "no-such-container"); err == nil {
		t.Fatal("get of a missing container succeeded")
	}
	expectMetrics(t, addr, map[string]float64{notFound: n + 1})
}

// TestE2EMetricsOffByDefault checks that no metrics listener is opened
// without [metrics] address.
func TestE2EMetricsOffByDefault(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	if strings.Contains(d.Log(), "metrics endpoint") {
		t.Errorf("a metrics endpoint was started without [metrics] address")
	}
}

// freshHostScript runs inside new mount and pid namespaces: it hides the
// host's /run, /var/lib and /etc (a copy without a nucleus group), installs
// deploy/nucleusd.toml as /etc/nucleus/nucleusd.toml, and runs nucleusd with
// no flags and nucleusctl with no address, as on a host just installed.
const freshHostScript = `set -eu
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
cp -a /etc "$WORK/etc"
sed -i '/^nucleus:/d' "$WORK/etc/group" "$WORK/etc/gshadow" 2>/dev/null || true
mount --bind "$WORK/etc" /etc
mkdir /etc/nucleus
cp "$CONFIG" /etc/nucleus/nucleusd.toml
"$BIN/nucleusd" >"$WORK/nucleusd.log" 2>&1 &
pid=$!
i=0
until "$BIN/nucleusctl" version >/dev/null 2>&1; do
  i=$((i+1)); [ $i -lt 300 ] || { echo "nucleusd did not answer"; exit 1; }
  kill -0 $pid || { echo "nucleusd exited"; exit 1; }
  sleep 0.1
done
stat -c 'mode %n %a %U:%G' /var/lib/nucleus /run/nucleus /run/nucleus/nucleusd.sock
"$BIN/nucleusctl" run --rm /bin/sh -c 'echo hello from a fresh host'
kill -TERM $pid
wait $pid
echo "exit $?"
`

// TestE2EDeployFreshHostDefaultConfig starts nucleusd with no flags and the
// shipped config on a host without the nucleus group, /var/lib/nucleus or
// /run/nucleus: it must create its directories, fall back to a root-only
// socket with a warning, and run a container.
func TestE2EDeployFreshHostDefaultConfig(t *testing.T) {
	runsc := testutil.Runsc(t)
	work, err := os.MkdirTemp("", "nucleus-fresh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	// Searchable, as /usr/local is: runsc starts the gofer from this runsc
	// as the sandbox's unprivileged user namespace root.
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(work, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"nucleusd": binary(t, "nucleusd"), "nucleus-supervisor": binary(t, "nucleus-supervisor"), "nucleusctl": binary(t, "nucleusctl"), "runsc": runsc} {
		if out, err := exec.Command("install", "-m", "0755", src, filepath.Join(bin, name)).CombinedOutput(); err != nil {
			t.Fatalf("install %s: %v %s", name, err, out)
		}
	}
	cmd := exec.Command("unshare", "--mount", "--pid", "--fork", "--mount-proc", "/bin/sh", "-c", freshHostScript)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "WORK=" + work, "BIN=" + bin,
		"CONFIG=" + filepath.Join(testutil.RepoRoot(t), "deploy", "nucleusd.toml")}
	out, err := cmd.CombinedOutput()
	logb, _ := os.ReadFile(filepath.Join(work, "nucleusd.log"))
	if err != nil {
		t.Fatalf("fresh host: %v\n%s\nnucleusd log:\n%s", err, out, logb)
	}
	for _, want := range []string{
		"mode /var/lib/nucleus 711 root:root",
		"mode /run/nucleus 711 root:root",
		"mode /run/nucleus/nucleusd.sock 600 root:root",
		"hello from a fresh host",
		"exit 0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("fresh host output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(string(logb), "socket group not found") {
		t.Errorf("no warning about the missing nucleus group in the log:\n%s", logb)
	}
}
