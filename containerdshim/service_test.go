package containerdshim

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/client/clienttest"
)

// eventSink is containerd's ttrpc events service, recording envelopes.
type eventSink struct {
	mu  sync.Mutex
	got []*types.Envelope
}

func (e *eventSink) Forward(_ context.Context, r *eventsapi.ForwardRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, r.Envelope)
	return &emptypb.Empty{}, nil
}

func (e *eventSink) topics() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, env := range e.got {
		out = append(out, env.Topic)
	}
	return out
}

func serveEvents(t *testing.T) (string, *eventSink) {
	t.Helper()
	dir, err := os.MkdirTemp("", "shimev")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "ev.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	sink := &eventSink{}
	eventsapi.RegisterEventsService(srv, sink)
	go srv.Serve(context.Background(), l) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	return path, sink
}

func newTestService(t *testing.T, fake *clienttest.Fake) (*Service, *eventSink) {
	t.Helper()
	c, err := client.New(context.Background(), fake.Serve(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	evAddr, sink := serveEvents(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewService("default", c, newPublisher(evAddr, "default", log), log, func() {}), sink
}

func writeBundle(t *testing.T, config []byte) string {
	t.Helper()
	bundle := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), config, 0o600); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// TestServiceLifecycle: Create maps the spec into nucleusd's Create, Start
// copies the log into the stdout path, Wait returns the real status, and
// each event reaches containerd exactly once, in order.
func TestServiceLifecycle(t *testing.T) {
	fake := &clienttest.Fake{
		WaitFunc: func(*nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
			return &nucleusv1.WaitResponse{Exit: &nucleusv1.ExitStatus{ExitCode: 3, Reason: "exited"}}, nil
		},
		LogsFunc: func(_ *nucleusv1.LogsRequest, s grpc.ServerStreamingServer[nucleusv1.LogsResponse]) error {
			return s.Send(&nucleusv1.LogsResponse{Entries: []*nucleusv1.LogEntry{
				{Stream: nucleusv1.LogStream_LOG_STREAM_STDOUT, Content: []byte("hi")},
				{Stream: nucleusv1.LogStream_LOG_STREAM_STDOUT, Content: []byte("no newline"), Partial: true},
			}})
		},
	}
	svc, sink := newTestService(t, fake)
	spec, _ := json.Marshal(baseSpec())
	bundle := writeBundle(t, spec)
	out := filepath.Join(bundle, "stdout")
	if err := os.WriteFile(out, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Create(ctx, &taskapi.CreateTaskRequest{ID: "web", Bundle: bundle, Stdout: out}); err != nil {
		t.Fatal(err)
	}
	creates := clienttest.RequestsOf[*nucleusv1.CreateRequest](fake)
	if len(creates) != 1 || creates[0].GetSpec().GetName() != "default.web" || creates[0].GetSpec().GetRootfs() != filepath.Join(bundle, "rootfs") {
		t.Fatalf("nucleusd creates: %v", creates)
	}
	if _, err := svc.Start(ctx, &taskapi.StartRequest{ID: "web"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w, err := svc.Wait(wctx, &taskapi.WaitRequest{ID: "web"})
	if err != nil || w.ExitStatus != 3 {
		t.Fatalf("Wait: %v, %v; want status 3", w, err)
	}
	if got, _ := os.ReadFile(out); string(got) != "hi\nno newline" {
		t.Fatalf("stdout: %q", got)
	}
	if _, err := svc.Kill(ctx, &taskapi.KillRequest{ID: "web", Signal: 9}); status.Code(err) != codes.NotFound {
		t.Fatalf("Kill after the exit: %v, want NotFound", err)
	}
	d, err := svc.Delete(ctx, &taskapi.DeleteRequest{ID: "web"})
	if err != nil || d.ExitStatus != 3 {
		t.Fatalf("Delete: %v, %v", d, err)
	}
	want := []string{topicCreate, topicStart, topicExit, topicDelete}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Join(sink.topics(), ",") != strings.Join(want, ",") {
		if time.Now().After(deadline) {
			t.Fatalf("events %v, want %v", sink.topics(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServiceMalformedSpec: a config.json that does not decode is
// InvalidArgument and nucleusd is never asked.
func TestServiceMalformedSpec(t *testing.T) {
	fake := &clienttest.Fake{}
	svc, _ := newTestService(t, fake)
	bundle := writeBundle(t, []byte(`{"process": `))
	_, err := svc.Create(context.Background(), &taskapi.CreateTaskRequest{ID: "web", Bundle: bundle})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "config.json is not a valid OCI runtime spec") {
		t.Fatalf("Create: %v", err)
	}
	if n := len(clienttest.RequestsOf[*nucleusv1.CreateRequest](fake)); n != 0 {
		t.Fatalf("%d creates reached nucleusd", n)
	}
}

// TestServiceHostileSpecFile: a config.json that is a FIFO (open and read
// would block), a link to /dev/zero (a read would never end) or larger
// than 4 MiB is InvalidArgument, at once, and nucleusd is never asked.
func TestServiceHostileSpecFile(t *testing.T) {
	fake := &clienttest.Fake{}
	svc, _ := newTestService(t, fake)
	fifo := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(fifo, "config.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	zero := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(zero, "config.json")); err != nil {
		t.Fatal(err)
	}
	big := writeBundle(t, append([]byte(`{"ociVersion":"1.2.1","annotations":{"x":"`), make([]byte, 5<<20)...))
	for name, bundle := range map[string]string{"fifo": fifo, "/dev/zero": zero, "5 MiB": big} {
		done := make(chan error, 1)
		go func() {
			_, err := svc.Create(context.Background(), &taskapi.CreateTaskRequest{ID: "web", Bundle: bundle})
			done <- err
		}()
		select {
		case err := <-done:
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "config.json") {
				t.Errorf("%s: Create: %v, want InvalidArgument naming config.json", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Create still reading after 10 s", name)
		}
	}
	if n := len(clienttest.RequestsOf[*nucleusv1.CreateRequest](fake)); n != 0 {
		t.Fatalf("%d creates reached nucleusd", n)
	}
}
