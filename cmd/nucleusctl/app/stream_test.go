package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client/clienttest"
)

func statsFake() *clienttest.Fake {
	sample := func(at time.Duration, cpu uint64) *nucleusv1.ContainerStats {
		return &nucleusv1.ContainerStats{Id: "0123456789abcdef0123456789abcdef", Name: "web", Time: timestamppb.New(testNow.Add(at)),
			MemoryUsageBytes: 64 << 20, MemoryLimitBytes: 256 << 20, CpuUsageNs: cpu, PidsCurrent: 3, PidsLimit: 64}
	}
	return &clienttest.Fake{StatsFunc: func(r *nucleusv1.StatsRequest, s grpc.ServerStreamingServer[nucleusv1.StatsResponse]) error {
		s.Send(&nucleusv1.StatsResponse{Stats: []*nucleusv1.ContainerStats{sample(0, 1_500_000_000), {Id: "ffff", Name: "free", MemoryUsageBytes: 1024}}})
		if r.GetStream() {
			return s.Send(&nucleusv1.StatsResponse{Stats: []*nucleusv1.ContainerStats{sample(time.Second, 2_000_000_000)}})
		}
		return nil
	}}
}

func TestStats(t *testing.T) {
	f := statsFake()
	r := cli(t, f, "stats", "--no-stream", "web", "free")
	r.wantCode(t, 0)
	want := `CONTAINER ID   NAME   CPU %   CPU TIME   MEM USAGE / LIMIT   MEM %    PIDS
0123456789ab   web    --      1.5s       64MiB / 256MiB      25.00%   3
ffff           free   --      0s         1KiB / unlimited    --       0
`
	if r.stdout != want {
		t.Errorf("stats --no-stream =\n%q\nwant\n%q", r.stdout, want)
	}
	if got := clienttest.RequestsOf[*nucleusv1.StatsRequest](f); !proto.Equal(got[0], &nucleusv1.StatsRequest{Ids: []string{"web", "free"}}) {
		t.Errorf("request = %v", got)
	}
	r = cli(t, statsFake(), "stats")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "0123456789ab   web    50.00%   2s") {
		t.Errorf("streamed stats: CPU %% between samples missing:\n%s", r.stdout)
	}
	r = cli(t, statsFake(), "stats", "--no-stream", "-o", "json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var s struct {
		Name string `json:"name"`
		Mem  string `json:"memory_usage_bytes"`
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &s) != nil || s.Name != "web" || s.Mem != "67108864" {
		t.Errorf("stats -o json = %q", r.stdout)
	}
}

func TestEvents(t *testing.T) {
	f := &clienttest.Fake{
		GetFunc: func(r *nucleusv1.GetRequest) (*nucleusv1.GetResponse, error) {
			return &nucleusv1.GetResponse{Container: &nucleusv1.Container{Id: "abcdefabcdefabcdefabcdefabcdefab", Name: r.GetId()}}, nil
		},
		EventsFunc: func(r *nucleusv1.EventsRequest, s grpc.ServerStreamingServer[nucleusv1.EventsResponse]) error {
			s.Send(&nucleusv1.EventsResponse{EventsLost: true, Event: &nucleusv1.Event{
				Sequence: 42, Time: timestamppb.New(testNow), Type: nucleusv1.EventType_EVENT_TYPE_EXITED,
				ContainerId: "abcdefabcdefabcdefabcdefabcdefab", ContainerName: "web", ExitCode: 7,
				Attributes: map[string]string{"reason": "exited"},
			}})
			return s.Send(&nucleusv1.EventsResponse{Event: &nucleusv1.Event{
				Sequence: 43, Time: timestamppb.New(testNow), Type: nucleusv1.EventType_EVENT_TYPE_HOOK_FAILED,
				ContainerId: "abcdefabcdefabcdefabcdefabcdefab", ContainerName: "web", Message: "hook exited 1",
				Attributes: map[string]string{"phase": "prestart", "hook": "0"},
			}})
		},
	}
	r := cli(t, f, "events", "--since", "41", "--filter", "container=web", "--filter", "type=exited", "-f", "event=hook-failed",
		"-f", "container=0123456789abcdef0123456789abcdef")
	r.wantCode(t, 0)
	tm := testNow.Local().Format(timestampLayout)
	want := tm + " container exited abcdefabcdefabcdefabcdefabcdefab (exit=7, name=web, reason=exited, seq=42)\n" +
		tm + " container hook_failed abcdefabcdefabcdefabcdefabcdefab (hook=0, message=\"hook exited 1\", name=web, phase=prestart, seq=43)\n"
	if r.stdout != want {
		t.Errorf("events =\n%s\nwant\n%s", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "resuming at sequence 42") {
		t.Errorf("events_lost not reported: %q", r.stderr)
	}
	since := uint64(41)
	wantReq := &nucleusv1.EventsRequest{SinceSequence: &since,
		ContainerIds: []string{"abcdefabcdefabcdefabcdefabcdefab", "0123456789abcdef0123456789abcdef"},
		Types:        []nucleusv1.EventType{nucleusv1.EventType_EVENT_TYPE_EXITED, nucleusv1.EventType_EVENT_TYPE_HOOK_FAILED}}
	if got := clienttest.RequestsOf[*nucleusv1.EventsRequest](f); len(got) != 1 || !proto.Equal(got[0], wantReq) {
		t.Errorf("events request = %v, want %v", got, wantReq)
	}
	if gets := clienttest.RequestsOf[*nucleusv1.GetRequest](f); len(gets) != 1 {
		t.Errorf("only the name needs resolving: %v", gets)
	}

	r = cli(t, f, "events", "-o", "json")
	r.wantCode(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var ev struct {
		Sequence string `json:"sequence"`
		Type     string `json:"type"`
		ExitCode int    `json:"exit_code"`
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &ev) != nil || ev.Sequence != "42" || ev.Type != "EVENT_TYPE_EXITED" || ev.ExitCode != 7 {
		t.Errorf("events -o json = %q", r.stdout)
	}
	if got := clienttest.RequestsOf[*nucleusv1.EventsRequest](f); got[1].SinceSequence != nil {
		t.Errorf("without --since only live events: %v", got[1])
	}
	for _, args := range [][]string{{"events", "--since", "10m"}, {"events", "-f", "type=nope"}, {"events", "-f", "image=x"}} {
		cli(t, f, args...).wantCode(t, ExitFailure)
	}
}

func TestVersionAndInfo(t *testing.T) {
	f := &clienttest.Fake{
		VersionFunc: func(*nucleusv1.VersionRequest) (*nucleusv1.VersionResponse, error) {
			return &nucleusv1.VersionResponse{Version: "v1.2.3", Revision: "abc", RunscVersion: "runsc version release-2026", ApiVersion: "nucleus.v1", GoVersion: "go1.26"}, nil
		},
		InfoFunc: func(*nucleusv1.InfoRequest) (*nucleusv1.InfoResponse, error) {
			return &nucleusv1.InfoResponse{Platform: "systrap", DefaultNetwork: "none", RootDir: "/var/lib/nucleus", StateDir: "/run/nucleus",
				Containers: 3, StateCounts: []*nucleusv1.StateCount{{State: nucleusv1.ContainerState_CONTAINER_STATE_RUNNING, Count: 2}, {State: nucleusv1.ContainerState_CONTAINER_STATE_EXITED, Count: 1}},
				MaxContainers: 100, MaxContainersPerUid: 10, HookSets: []string{"audit", "net"}, DefaultHookSet: "audit", CallerUid: 1000}, nil
		},
	}
	r := cli(t, f, "version")
	r.wantCode(t, 0)
	for _, want := range []string{"Client:\n Version:", "Server:\n Version:     v1.2.3", " API version: nucleus.v1", " runsc:       runsc version release-2026"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = cli(t, f, "version", "-o", "json")
	var v struct {
		Client struct{ Version string } `json:"client"`
		Server struct {
			Version string `json:"version"`
		} `json:"server"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Client.Version == "" || v.Server.Version != "v1.2.3" {
		t.Errorf("version -o json = %v %+v\n%s", err, v, r.stdout)
	}
	r = cli(t, nil, "version")
	r.wantCode(t, ExitFailure)
	if !strings.HasPrefix(r.stdout, "Client:\n") || strings.Contains(r.stdout, "Server:") || !strings.Contains(r.stderr, "cannot connect") {
		t.Errorf("unreachable version: stdout %q stderr %q", r.stdout, r.stderr)
	}
	r = cli(t, nil, "version", "-o", "json")
	r.wantCode(t, ExitFailure)
	if !strings.Contains(r.stdout, `"server": null`) {
		t.Errorf("unreachable version -o json: %q", r.stdout)
	}

	r = cli(t, f, "info")
	r.wantCode(t, 0)
	want := `Containers:      3
 Running:        2
 Exited:         1
Max containers:  100 (per uid: 10)
Platform:        systrap
runsc:           
Default network: none
Hook sets:       audit, net (default: audit)
Root dir:        /var/lib/nucleus
State dir:       /run/nucleus
Caller uid:      1000
`
	if r.stdout != want {
		t.Errorf("info =\n%s\nwant\n%s", r.stdout, want)
	}
	info := f.InfoFunc
	f.InfoFunc = func(r *nucleusv1.InfoRequest) (*nucleusv1.InfoResponse, error) {
		resp, _ := info(r)
		resp.Goroutines, resp.OpenFds = 42, 17
		return resp, nil
	}
	r = cli(t, f, "info")
	if !strings.HasSuffix(r.stdout, "Caller uid:      1000\nGoroutines:      42\nOpen fds:        17\n") {
		t.Errorf("info for root:\n%s", r.stdout)
	}
	r = cli(t, f, "info", "-o", "json")
	var infoJSON map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &infoJSON); err != nil || infoJSON["platform"] != "systrap" || infoJSON["goroutines"] != 42.0 {
		t.Errorf("info -o json: %v %v", err, infoJSON)
	}
}

func TestHelpCompletionAndExamples(t *testing.T) {
	root := newRootCommand(&globals{env: Env{LookupEnv: func(string) (string, bool) { return "", false }}})
	cmds := root.Commands()
	for len(cmds) > 0 {
		c := cmds[0]
		cmds = append(cmds[1:], c.Commands()...)
		if c.Example == "" || c.Short == "" {
			t.Errorf("%q has no Example or Short", c.CommandPath())
		}
	}
	names := map[string]bool{}
	for _, c := range root.Commands() {
		names[c.Name()] = true
	}
	for _, n := range strings.Fields("run create start ps inspect logs exec kill stop rm wait stats events pause resume update version info completion") {
		if !names[n] {
			t.Errorf("command %q missing", n)
		}
	}
	for shell, marker := range map[string]string{"bash": "# bash completion V2 for nucleusctl", "zsh": "#compdef nucleusctl", "fish": "complete -c nucleusctl"} {
		r := cli(t, nil, "completion", shell)
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, marker) {
			t.Errorf("completion %s lacks %q", shell, marker)
		}
	}
	cli(t, nil, "completion", "powershell").wantCode(t, ExitFailure)
	r := cli(t, nil, "run", "--help")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--pids-limit") {
		t.Errorf("run --help:\n%s", r.stdout)
	}
	cli(t, nil, "frobnicate").wantCode(t, ExitFailure)
}

func TestCompleteContainers(t *testing.T) {
	f := &clienttest.Fake{ListFunc: func(*nucleusv1.ListRequest) (*nucleusv1.ListResponse, error) {
		return &nucleusv1.ListResponse{Containers: []*nucleusv1.Container{
			{Name: "web", State: nucleusv1.ContainerState_CONTAINER_STATE_RUNNING}, {Name: "worker"}, {Name: "db"},
		}}, nil
	}}
	r := cli(t, f, "__complete", "rm", "w")
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "web\trunning\nworker\tunspecified\n:4\n") {
		t.Errorf("completion = %q", r.stdout)
	}
}
