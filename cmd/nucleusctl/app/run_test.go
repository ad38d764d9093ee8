package app

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client/clienttest"
	"nucleus.dev/nucleus/internal/errdefs"
)

func runStarts(f *clienttest.Fake) []*nucleusv1.RunStart {
	var out []*nucleusv1.RunStart
	for _, r := range clienttest.RequestsOf[*nucleusv1.RunRequest](f) {
		if s := r.GetStart(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func TestRunFlagsMapToSpec(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	os.WriteFile(secret, []byte("s3cret"), 0o600)
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("# c\nFROM_FILE=1\nHOME\n"), 0o600)
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
	r := cliWith(t, f, invocation{env: map[string]string{"HOME": "/home/me", "PASS": "through"}},
		"run", "-d", "--name", "web", "--rm", "-i", "-e", "A=1", "--env", "PASS", "--env-file", envFile,
		"-v", "/srv/data:/data:ro", "--volume", "/srv/out:/out:rw", "--tmpfs", "/tmp:size=64m", "--tmpfs", "/scratch",
		"--rootfs", "/srv/root", "--memory", "256m", "--cpus", "1.5", "--pids-limit", "64", "--timeout", "30s",
		"-u", "1000:100", "-w", "/data", "--hostname", "box", "--network", "sandbox", "--secret", "token="+secret,
		"--hooks", "audit", "-l", "team=ml", "--label", "tier",
		"--", "/usr/bin/python3", "-c", "print(1)")
	r.wantCode(t, 0)
	if got := strings.TrimSpace(r.stdout); !strings.HasPrefix(got, "c1") || len(got) != 32 {
		t.Errorf("-d printed %q, want the full id", r.stdout)
	}
	bind, tmpfs := nucleusv1.VolumeType_VOLUME_TYPE_BIND, nucleusv1.VolumeType_VOLUME_TYPE_TMPFS
	want := &nucleusv1.RunStart{Detach: true, Spec: &nucleusv1.ContainerSpec{
		Name: "web", Args: []string{"/usr/bin/python3", "-c", "print(1)"},
		Env:  []string{"FROM_FILE=1", "HOME=/home/me", "A=1", "PASS=through"},
		User: &nucleusv1.User{Uid: 1000, Gid: 100}, Cwd: "/data", Hostname: "box",
		Labels: map[string]string{"team": "ml", "tier": ""}, Rootfs: "/srv/root",
		Volumes: []*nucleusv1.Volume{
			{Type: bind, Source: "/srv/data", Destination: "/data", ReadOnly: true},
			{Type: bind, Source: "/srv/out", Destination: "/out"},
			{Type: tmpfs, Destination: "/tmp", SizeBytes: 64 << 20},
			{Type: tmpfs, Destination: "/scratch"},
		},
		Secrets:   []*nucleusv1.Secret{{Name: "token", Data: []byte("s3cret"), Destination: "/run/secrets/token"}},
		Resources: &nucleusv1.Resources{MemoryBytes: 256 << 20, Cpus: 1.5, Pids: 64},
		HookSet:   "audit", Network: "sandbox", Timeout: durationpb.New(30 * time.Second),
		AutoRemove: true, OpenStdin: true,
	}}
	starts := runStarts(f)
	if len(starts) != 1 || !proto.Equal(starts[0], want) {
		t.Errorf("run start =\n%v\nwant\n%v", starts, want)
	}
}

// TestRunEnvLastWins: a later -e overrides an --env-file line or an earlier
// -e, as in docker; nucleusd refuses a key set twice.
func TestRunEnvLastWins(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("A=file\nB=file\n"), 0o600)
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
	cli(t, f, "run", "-d", "--env-file", envFile, "-e", "C=1", "-e", "A=flag", "-e", "C=2", "x").wantCode(t, 0)
	if got := runStarts(f)[0].GetSpec().GetEnv(); strings.Join(got, ",") != "A=flag,B=file,C=2" {
		t.Errorf("env = %q, want A=flag,B=file,C=2", got)
	}
}

func TestRunDefaults(t *testing.T) {
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{Stdout: "hi\n"}.Serve}
	r := cli(t, f, "run", "/bin/echo", "-n", "hi") // flags after CMD belong to CMD
	r.wantCode(t, 0)
	want := &nucleusv1.RunStart{Spec: &nucleusv1.ContainerSpec{
		Args: []string{"/bin/echo", "-n", "hi"}, Network: "none", Resources: &nucleusv1.Resources{},
	}}
	if s := runStarts(f); len(s) != 1 || !proto.Equal(s[0], want) {
		t.Errorf("run start = %v, want %v", s, want)
	}
	if r.stdout != "hi\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
}

func TestRunFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", "--bogus", "x"},
		{"run", "--memory", "lots", "x"},
		{"run", "-v", "data:/data", "x"},
		{"run", "--tmpfs", "/t:mode=1777", "x"},
		{"run", "-u", "nobody", "x"},
		{"run", "--network", "bridge", "x"},
		{"run", "--secret", "token=/nonexistent/file", "x"},
		{"run", "--env-file", "/nonexistent/env", "x"},
		{"run", "-e", "=x", "x"},
		{"run", "-l", "=x", "x"},
		{"run", "--cpus", "many", "x"},
		{"run", "-it", "--detach-keys", "ctrl-1", "x"},
		{"exec", "-it", "web", "x"},
	} {
		f := &clienttest.Fake{}
		r := cli(t, f, args...)
		r.wantCode(t, ExitFailure)
		if len(f.Requests()) != 0 {
			t.Errorf("%q reached the daemon: %v", args, f.Requests())
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	cases := []struct {
		name   string
		script clienttest.RunScript
		code   int
		stderr string
	}{
		{"zero", clienttest.RunScript{Stdout: "out\n", Stderr: "err\n"}, 0, "err\n"},
		{"seven", clienttest.RunScript{Exit: &nucleusv1.ExitStatus{ExitCode: 7, Reason: "exited"}}, 7, ""},
		{"killed", clienttest.RunScript{Exit: &nucleusv1.ExitStatus{ExitCode: 137, Signal: 9, Reason: "killed"}}, 137, ""},
		{"not found", clienttest.RunScript{Exit: &nucleusv1.ExitStatus{ExitCode: 127, Reason: "not-found", Message: `exec: "nope": not found`}},
			127, "nucleusctl: container c10000000000 ended: not-found: exec: \"nope\": not found\n"},
		{"not executable", clienttest.RunScript{Exit: &nucleusv1.ExitStatus{ExitCode: 126, Reason: "error", Message: "permission denied"}},
			126, "nucleusctl: container c10000000000 ended: error: permission denied\n"},
		{"daemon error", clienttest.RunScript{Exit: &nucleusv1.ExitStatus{Reason: "error", Message: "prestart hook #0 failed"}},
			125, "nucleusctl: container c10000000000 ended: error: prestart hook #0 failed\n"},
		{"timeout", clienttest.RunScript{Exit: &nucleusv1.ExitStatus{ExitCode: 137, Signal: 9, Reason: "timeout"}},
			137, "nucleusctl: container c10000000000 ended: timeout\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cli(t, &clienttest.Fake{RunFunc: c.script.Serve}, "run", "x")
			r.wantCode(t, c.code)
			if r.stdout != c.script.Stdout || r.stderr != c.stderr {
				t.Errorf("stdout %q, stderr %q; want stderr %q", r.stdout, r.stderr, c.stderr)
			}
		})
	}
}

// TestRunCommandNotFoundBeforeStart: nucleusd ends a run whose command
// cannot start with the exit alone (no container message): the message
// names no empty id.
func TestRunCommandNotFoundBeforeStart(t *testing.T) {
	f := &clienttest.Fake{RunFunc: func(st clienttest.Stream[nucleusv1.RunRequest, nucleusv1.RunResponse]) error {
		if _, err := st.Recv(); err != nil {
			return err
		}
		return st.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Exit{Exit: &nucleusv1.ExitStatus{
			ExitCode: 127, Reason: "not-found", Message: "failed to load /nope"}}})
	}}
	r := cli(t, f, "run", "/nope")
	r.wantCode(t, ExitNotFound)
	if r.stderr != "nucleusctl: container ended: not-found: failed to load /nope\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestRunDaemonErrors(t *testing.T) {
	f := &clienttest.Fake{RunFunc: func(clienttest.Stream[nucleusv1.RunRequest, nucleusv1.RunResponse]) error {
		return errdefs.ToGRPC(errdefs.NotFound("hook set %q not found\nknown: audit", "x"))
	}}
	r := cli(t, f, "run", "--hooks", "x", "true")
	r.wantCode(t, ExitFailure)
	if r.stderr != "nucleusctl: hook set \"x\" not found; known: audit\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = cli(t, nil, "run", "true")
	r.wantCode(t, ExitFailure)
	if !strings.Contains(r.stderr, "cannot connect to nucleusd at unix:///nonexistent/nucleusd.sock") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestRunForwardsStdin(t *testing.T) {
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{ReadStdin: true}.Serve}
	r := cliWith(t, f, invocation{stdin: "line 1\nline 2\n"}, "run", "-i", "cat")
	r.wantCode(t, 0)
	if r.stdout != "line 1\nline 2\n" {
		t.Errorf("stdout = %q (the fake echoes stdin)", r.stdout)
	}
	var sawClose bool
	for _, m := range clienttest.RequestsOf[*nucleusv1.RunRequest](f) {
		sawClose = sawClose || m.GetCloseStdin()
	}
	if !sawClose || !runStarts(f)[0].GetSpec().GetOpenStdin() {
		t.Errorf("close_stdin %v, open_stdin %v", sawClose, runStarts(f)[0].GetSpec().GetOpenStdin())
	}
}

func TestRunCtrlC(t *testing.T) {
	// One Ctrl-C is forwarded; the container dies of it.
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{WaitSignals: 1, Exit: &nucleusv1.ExitStatus{ExitCode: 130, Signal: 2, Reason: "exited"}}.Serve}
	r := cliWith(t, f, invocation{signals: func(c chan<- os.Signal) { c <- syscall.SIGINT }}, "run", "sleep", "100")
	r.wantCode(t, 130)
	var sigs []uint32
	for _, m := range clienttest.RequestsOf[*nucleusv1.RunRequest](f) {
		if m.GetSignal() != 0 {
			sigs = append(sigs, m.GetSignal())
		}
	}
	if len(sigs) != 1 || sigs[0] != 2 {
		t.Errorf("forwarded signals %v, want [2]", sigs)
	}

	// A second Ctrl-C stops waiting; the container is left running.
	f = &clienttest.Fake{RunFunc: clienttest.RunScript{WaitSignals: 1, Block: true}.Serve}
	r = cliWith(t, f, invocation{signals: func(c chan<- os.Signal) {
		c <- syscall.SIGINT
		time.Sleep(50 * time.Millisecond)
		c <- syscall.SIGINT
	}}, "run", "sleep", "100")
	r.wantCode(t, ExitStoppedWaiting)
	if !strings.HasPrefix(r.stderr, "nucleusctl: stopped waiting; container c1") || !strings.HasSuffix(r.stderr, " keeps running\n") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestCreateAndStart(t *testing.T) {
	f := &clienttest.Fake{
		WaitFunc: func(*nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
			return &nucleusv1.WaitResponse{Exit: &nucleusv1.ExitStatus{ExitCode: 7, Reason: "exited"}}, nil
		},
	}
	r := cli(t, f, "create", "--name", "job", "--memory", "1.5g", "-i", "--", "/bin/sh", "-c", "exit 7")
	r.wantCode(t, 0)
	creates := clienttest.RequestsOf[*nucleusv1.CreateRequest](f)
	want := &nucleusv1.ContainerSpec{Name: "job", Args: []string{"/bin/sh", "-c", "exit 7"}, Network: "none",
		OpenStdin: true, Resources: &nucleusv1.Resources{MemoryBytes: 3 << 29}}
	if len(creates) != 1 || !proto.Equal(creates[0].GetSpec(), want) || !strings.HasPrefix(r.stdout, "c1") {
		t.Errorf("create = %v, stdout %q", creates, r.stdout)
	}

	r = cli(t, f, "start", "job", "other")
	r.wantCode(t, 0)
	if r.stdout != "job\nother\n" {
		t.Errorf("start stdout = %q", r.stdout)
	}
	r = cli(t, f, "start", "-a", "job")
	r.wantCode(t, 7)
	cli(t, f, "start", "-a", "a", "b").wantCode(t, ExitFailure)
}

// TestRunTimeoutFlag: --timeout 0 and --timeout none ask for no timeout
// (spec.no_timeout), a duration sets spec.timeout, no flag leaves both
// unset (nucleusd's default), and a negative or malformed value is refused
// before any call.
func TestRunTimeoutFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want *nucleusv1.ContainerSpec
	}{
		{nil, &nucleusv1.ContainerSpec{}},
		{[]string{"--timeout", "0"}, &nucleusv1.ContainerSpec{NoTimeout: true}},
		{[]string{"--timeout", "0s"}, &nucleusv1.ContainerSpec{NoTimeout: true}},
		{[]string{"--timeout", "none"}, &nucleusv1.ContainerSpec{NoTimeout: true}},
		{[]string{"--timeout", "90s"}, &nucleusv1.ContainerSpec{Timeout: durationpb.New(90 * time.Second)}},
	} {
		f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
		cli(t, f, append(append([]string{"run", "-d"}, c.args...), "x")...).wantCode(t, 0)
		got := runStarts(f)[0].GetSpec()
		if got.GetNoTimeout() != c.want.GetNoTimeout() || !proto.Equal(got.GetTimeout(), c.want.GetTimeout()) {
			t.Errorf("%v: timeout %v no_timeout %v, want %v %v", c.args, got.GetTimeout(), got.GetNoTimeout(), c.want.GetTimeout(), c.want.GetNoTimeout())
		}
	}
	for _, bad := range []string{"-5s", "soon", "never"} {
		f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
		r := cli(t, f, "run", "-d", "--timeout", bad, "x")
		if r.code == 0 || len(runStarts(f)) != 0 || !strings.Contains(r.stderr, "--timeout") {
			t.Errorf("--timeout %s: code %d, %d calls, stderr %q; want a refusal before any call", bad, r.code, len(runStarts(f)), r.stderr)
		}
	}
}

// TestRunEgressFlags: the egress flags and -p imply --network egress and
// fill spec.egress and published_ports; --egress none alone is network
// none (only lo); bad values are refused before any call.
func TestRunEgressFlags(t *testing.T) {
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
	cli(t, f, "run", "-d", "--allow-domain", "pypi.org,*.pythonhosted.org", "--allow-cidr", "203.0.113.0/24", "--allow-port", "443",
		"-p", "8080:80", "-p", "127.0.0.1:8443:443/tcp", "/bin/sh").wantCode(t, 0)
	want := &nucleusv1.ContainerSpec{Args: []string{"/bin/sh"}, Network: "egress", Resources: &nucleusv1.Resources{},
		Egress: &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALLOWLIST, Domains: []string{"pypi.org", "*.pythonhosted.org"},
			Cidrs: []string{"203.0.113.0/24"}, Ports: []uint32{443}},
		PublishedPorts: []*nucleusv1.PublishedPort{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
			{HostIp: "127.0.0.1", HostPort: 8443, ContainerPort: 443, Protocol: "tcp"}}}
	if s := runStarts(f); len(s) != 1 || !proto.Equal(s[0].GetSpec(), want) {
		t.Errorf("spec = %v\nwant %v", s, want)
	}
	f = &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
	cli(t, f, "run", "-d", "--egress", "none", "/bin/sh").wantCode(t, 0)
	if s := runStarts(f); len(s) != 1 || s[0].GetSpec().GetNetwork() != "none" || s[0].GetSpec().GetEgress() != nil {
		t.Errorf("--egress none alone: %v, want network none without a policy", s)
	}
	for _, args := range [][]string{
		{"run", "--egress", "some", "sh"},
		{"run", "--allow-port", "0", "sh"},
		{"run", "--allow-cidr", "nope", "sh"},
		{"run", "-p", "80", "sh"},
		{"run", "-p", "1.2.3.4:80:80/udp", "sh"},
		{"run", "--network", "loopback", "--allow-domain", "a.org", "sh"},
	} {
		f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
		if r := cli(t, f, args...); r.code == 0 || len(runStarts(f)) != 0 {
			t.Errorf("%v: exit %d, want a refusal before any call", args, r.code)
		}
	}
}

// TestRunTTYSpec: -t asks for a terminal (spec.tty) and -dit keeps stdin
// open for a later attach; without a local terminal no size is sent.
func TestRunTTYSpec(t *testing.T) {
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
	cli(t, f, "run", "-dit", "/bin/sh").wantCode(t, 0)
	spec := runStarts(f)[0].GetSpec()
	if !spec.GetTty() || !spec.GetOpenStdin() || spec.GetTerminalSize() != nil {
		t.Errorf("run -dit spec: tty %v open_stdin %v size %v", spec.GetTty(), spec.GetOpenStdin(), spec.GetTerminalSize())
	}
}
