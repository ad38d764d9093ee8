package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client/clienttest"
)

func ago(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(testNow.Add(-d)) }

// psFixture lists three containers, oldest first, as the API does.
func psFixture() *clienttest.Fake {
	return &clienttest.Fake{ListFunc: func(*nucleusv1.ListRequest) (*nucleusv1.ListResponse, error) {
		return &nucleusv1.ListResponse{Containers: []*nucleusv1.Container{
			{Id: "0123456789abcdef0123456789abcdef", Name: "old", State: nucleusv1.ContainerState_CONTAINER_STATE_EXITED,
				Spec:      &nucleusv1.ContainerSpec{Args: []string{"sh", "-c", "exit 7; echo a long command"}},
				CreatedAt: ago(time.Hour), StartedAt: ago(time.Hour), FinishedAt: ago(2 * time.Minute),
				Exit: &nucleusv1.ExitStatus{ExitCode: 7, Reason: "exited"}},
			{Id: "1123456789abcdef0123456789abcdef", Name: "paused", State: nucleusv1.ContainerState_CONTAINER_STATE_PAUSED,
				Spec: &nucleusv1.ContainerSpec{Args: []string{"sleep", "100"}}, CreatedAt: ago(5 * time.Second), StartedAt: ago(time.Second)},
			{Id: "2123456789abcdef0123456789abcdef", Name: "web", State: nucleusv1.ContainerState_CONTAINER_STATE_RUNNING,
				Spec: &nucleusv1.ContainerSpec{Args: []string{"python3"}}, CreatedAt: ago(4 * time.Second), StartedAt: ago(3 * time.Second),
				Ports: []*nucleusv1.PublishedPort{{HostIp: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
			{Id: "3123456789abcdef0123456789abcdef", Name: "new", State: nucleusv1.ContainerState_CONTAINER_STATE_CREATED,
				Spec: &nucleusv1.ContainerSpec{Args: []string{"true"}}, CreatedAt: ago(0)},
		}}, nil
	}}
}

func TestPsTable(t *testing.T) {
	r := cli(t, psFixture(), "ps", "-a")
	r.wantCode(t, 0)
	want := `CONTAINER ID   NAME     COMMAND                  CREATED                  STATUS                     PORTS
3123456789ab   new      "true"                   Less than a second ago   Created
2123456789ab   web      "python3"                4 seconds ago            Up 3 seconds               127.0.0.1:8080->80/tcp
1123456789ab   paused   "sleep 100"              5 seconds ago            Up 1 second (Paused)
0123456789ab   old      "sh -c exit 7; echo …"   About an hour ago        Exited (7) 2 minutes ago
`
	if r.stdout != want {
		t.Errorf("ps -a =\n%s\nwant\n%s", r.stdout, want)
	}
	r = cli(t, psFixture(), "ps", "-a", "--no-trunc")
	if !strings.Contains(r.stdout, "0123456789abcdef0123456789abcdef   old") || !strings.Contains(r.stdout, `"sh -c exit 7; echo a long command"`) {
		t.Errorf("ps --no-trunc =\n%s", r.stdout)
	}
}

func TestPsQuietAndJSON(t *testing.T) {
	r := cli(t, psFixture(), "ps", "-aq")
	r.wantCode(t, 0)
	if r.stdout != "3123456789ab\n2123456789ab\n1123456789ab\n0123456789ab\n" {
		t.Errorf("ps -q = %q", r.stdout)
	}
	r = cli(t, psFixture(), "ps", "-a", "-o", "json")
	r.wantCode(t, 0)
	var got []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		State string `json:"state"`
		Exit  *struct {
			ExitCode int `json:"exit_code"`
		} `json:"exit"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("ps -o json is not a JSON array: %v\n%s", err, r.stdout)
	}
	if len(got) != 4 || got[0].Name != "new" || got[3].State != "CONTAINER_STATE_EXITED" || got[3].Exit.ExitCode != 7 || got[0].ID != "3123456789abcdef0123456789abcdef" {
		t.Errorf("ps -o json = %+v", got)
	}
	f := &clienttest.Fake{}
	r = cli(t, f, "ps", "-o", "json")
	if r.stdout != "[]\n" {
		t.Errorf("empty ps -o json = %q", r.stdout)
	}
	cli(t, f, "ps", "-o", "yaml").wantCode(t, ExitFailure)
}

func TestPsFilters(t *testing.T) {
	running, paused := nucleusv1.ContainerState_CONTAINER_STATE_RUNNING, nucleusv1.ContainerState_CONTAINER_STATE_PAUSED
	exited, created := nucleusv1.ContainerState_CONTAINER_STATE_EXITED, nucleusv1.ContainerState_CONTAINER_STATE_CREATED
	summary := nucleusv1.ListView_LIST_VIEW_SUMMARY
	for _, c := range []struct {
		args []string
		want *nucleusv1.ListRequest
	}{
		{[]string{"ps"}, &nucleusv1.ListRequest{States: []nucleusv1.ContainerState{running, paused}, View: summary}},
		{[]string{"ps", "-a"}, &nucleusv1.ListRequest{View: summary}},
		{[]string{"ps", "-aq"}, &nucleusv1.ListRequest{View: summary}},
		{[]string{"ps", "--filter", "status=exited", "-f", "status=created"}, &nucleusv1.ListRequest{States: []nucleusv1.ContainerState{exited, created}, View: summary}},
		{[]string{"ps", "-a", "--filter", "label=team=ml", "--filter", "label=tier", "--filter", "name=we"},
			&nucleusv1.ListRequest{Labels: []string{"team=ml", "tier"}, Name: "we", View: summary}},
		// JSON is the whole API message.
		{[]string{"ps", "-a", "-o", "json"}, &nucleusv1.ListRequest{}},
	} {
		f := &clienttest.Fake{}
		cli(t, f, c.args...).wantCode(t, 0)
		got := clienttest.RequestsOf[*nucleusv1.ListRequest](f)
		if len(got) != 1 || !proto.Equal(got[0], c.want) {
			t.Errorf("%q sent %v, want %v", c.args, got, c.want)
		}
	}
	for _, bad := range []string{"status=dead", "id=x", "nolabel"} {
		cli(t, &clienttest.Fake{}, "ps", "--filter", bad).wantCode(t, ExitFailure)
	}
	cli(t, &clienttest.Fake{}, "ps", "-f", "name=a", "-f", "name=b").wantCode(t, ExitFailure)
	cli(t, &clienttest.Fake{}, "ps", "extra").wantCode(t, ExitFailure)
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "Less than a second", time.Second: "1 second", 59 * time.Second: "59 seconds",
		time.Minute: "About a minute", 59 * time.Minute: "59 minutes", time.Hour: "About an hour",
		47 * time.Hour: "47 hours", 72 * time.Hour: "3 days", 21 * 24 * time.Hour: "3 weeks",
		90 * 24 * time.Hour: "3 months", 3 * 365 * 24 * time.Hour: "3 years",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[uint64]string{0: "0B", 1023: "1023B", 1024: "1KiB", 256 << 20: "256MiB", 1536 << 20: "1.5GiB", 12_345_678: "11.77MiB"} {
		if got := bytesSize(n); got != want {
			t.Errorf("bytesSize(%d) = %q, want %q", n, got, want)
		}
	}
	for _, c := range []struct {
		st   nucleusv1.ContainerState
		want string
	}{
		{nucleusv1.ContainerState_CONTAINER_STATE_CREATING, "Creating"},
		{nucleusv1.ContainerState_CONTAINER_STATE_RUNNING, "Up"},
		{nucleusv1.ContainerState_CONTAINER_STATE_EXITED, "Exited (0)"},
		{nucleusv1.ContainerState_CONTAINER_STATE_REMOVED, "Removed"},
		{nucleusv1.ContainerState_CONTAINER_STATE_UNSPECIFIED, "Unknown"},
	} {
		if got := status(&nucleusv1.Container{State: c.st}, testNow); got != c.want {
			t.Errorf("status(%v) = %q, want %q", c.st, got, c.want)
		}
	}
	pending := &nucleusv1.Container{State: nucleusv1.ContainerState_CONTAINER_STATE_RUNNING, ExitPending: "disk full"}
	if got := status(pending, testNow); got != "Exited (code pending)" {
		t.Errorf("status of a pending exit = %q", got)
	}
}
