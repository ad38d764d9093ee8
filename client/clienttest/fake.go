// Package clienttest is an in-process fake nucleusd for tests of code built
// on package client: it records every request and answers with canned
// responses or with handlers the test supplies.
package clienttest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// Fake is a NucleusServer. Set the XxxFunc fields before the first call;
// a nil unary handler answers an empty response (Get and Wait return a
// running container and a zero exit), a nil stream handler ends the stream.
type Fake struct {
	nucleusv1.UnimplementedNucleusServer

	CreateFunc   func(*nucleusv1.CreateRequest) (*nucleusv1.CreateResponse, error)
	StartFunc    func(*nucleusv1.StartRequest) (*nucleusv1.StartResponse, error)
	GetFunc      func(*nucleusv1.GetRequest) (*nucleusv1.GetResponse, error)
	ListFunc     func(*nucleusv1.ListRequest) (*nucleusv1.ListResponse, error)
	KillFunc     func(*nucleusv1.KillRequest) (*nucleusv1.KillResponse, error)
	StopFunc     func(*nucleusv1.StopRequest) (*nucleusv1.StopResponse, error)
	DeleteFunc   func(*nucleusv1.DeleteRequest) (*nucleusv1.DeleteResponse, error)
	WaitFunc     func(*nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error)
	ExecSyncFunc func(*nucleusv1.ExecSyncRequest) (*nucleusv1.ExecSyncResponse, error)
	PauseFunc    func(*nucleusv1.PauseRequest) (*nucleusv1.PauseResponse, error)
	ResumeFunc   func(*nucleusv1.ResumeRequest) (*nucleusv1.ResumeResponse, error)
	UpdateFunc   func(*nucleusv1.UpdateRequest) (*nucleusv1.UpdateResponse, error)
	VersionFunc  func(*nucleusv1.VersionRequest) (*nucleusv1.VersionResponse, error)
	InfoFunc     func(*nucleusv1.InfoRequest) (*nucleusv1.InfoResponse, error)

	// RunFunc serves Run; every message it receives through Recv below is
	// recorded. See Script for the common case.
	RunFunc    func(Stream[nucleusv1.RunRequest, nucleusv1.RunResponse]) error
	ExecFunc   func(Stream[nucleusv1.ExecRequest, nucleusv1.ExecResponse]) error
	LogsFunc   func(*nucleusv1.LogsRequest, grpc.ServerStreamingServer[nucleusv1.LogsResponse]) error
	StatsFunc  func(*nucleusv1.StatsRequest, grpc.ServerStreamingServer[nucleusv1.StatsResponse]) error
	EventsFunc func(*nucleusv1.EventsRequest, grpc.ServerStreamingServer[nucleusv1.EventsResponse]) error

	// Snapshots, when set, serves nucleus.v1.SnapshotsService too.
	Snapshots nucleusv1.SnapshotsServiceServer

	mu       sync.Mutex
	requests []proto.Message
}

// Stream is a bidi server stream whose received messages are recorded.
type Stream[Req, Resp any] interface {
	Recv() (*Req, error)
	Send(*Resp) error
	Context() context.Context
}

var _ nucleusv1.NucleusServer = (*Fake)(nil)

// Serve starts f on a fresh unix socket and returns its address
// ("unix:///..."); the server stops when the test ends.
func (f *Fake) Serve(t testing.TB) string {
	t.Helper()
	// A short directory: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "nucleus-fake")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	nucleusv1.RegisterNucleusServer(srv, f)
	if f.Snapshots != nil {
		nucleusv1.RegisterSnapshotsServiceServer(srv, f.Snapshots)
	}
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return "unix://" + path
}

// Requests returns the recorded requests (clones), in arrival order; stream
// messages are recorded one by one.
func (f *Fake) Requests() []proto.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]proto.Message(nil), f.requests...)
}

// RequestsOf returns the recorded requests of type T.
func RequestsOf[T proto.Message](f *Fake) []T {
	var out []T
	for _, r := range f.Requests() {
		if m, ok := r.(T); ok {
			out = append(out, m)
		}
	}
	return out
}

func (f *Fake) record(m proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, proto.Clone(m))
}

// unary records req and calls fn, or returns def when fn is nil.
func unary[Req proto.Message, Resp any](f *Fake, req Req, fn func(Req) (*Resp, error), def *Resp) (*Resp, error) {
	f.record(req)
	if fn == nil {
		return def, nil
	}
	return fn(req)
}
