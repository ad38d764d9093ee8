package clienttest

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// The NucleusServer methods: record, then delegate to the XxxFunc fields.

func (f *Fake) Create(_ context.Context, r *nucleusv1.CreateRequest) (*nucleusv1.CreateResponse, error) {
	return unary(f, r, f.CreateFunc, &nucleusv1.CreateResponse{Container: Container("c1", nucleusv1.ContainerState_CONTAINER_STATE_CREATED)})
}

func (f *Fake) Start(_ context.Context, r *nucleusv1.StartRequest) (*nucleusv1.StartResponse, error) {
	return unary(f, r, f.StartFunc, &nucleusv1.StartResponse{Container: Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_RUNNING)})
}

func (f *Fake) Get(_ context.Context, r *nucleusv1.GetRequest) (*nucleusv1.GetResponse, error) {
	return unary(f, r, f.GetFunc, &nucleusv1.GetResponse{Container: Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_RUNNING)})
}

func (f *Fake) List(_ context.Context, r *nucleusv1.ListRequest) (*nucleusv1.ListResponse, error) {
	return unary(f, r, f.ListFunc, &nucleusv1.ListResponse{})
}

func (f *Fake) Kill(_ context.Context, r *nucleusv1.KillRequest) (*nucleusv1.KillResponse, error) {
	return unary(f, r, f.KillFunc, &nucleusv1.KillResponse{})
}

func (f *Fake) Stop(_ context.Context, r *nucleusv1.StopRequest) (*nucleusv1.StopResponse, error) {
	return unary(f, r, f.StopFunc, &nucleusv1.StopResponse{Container: Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_EXITED)})
}

func (f *Fake) Delete(_ context.Context, r *nucleusv1.DeleteRequest) (*nucleusv1.DeleteResponse, error) {
	return unary(f, r, f.DeleteFunc, &nucleusv1.DeleteResponse{Container: Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_REMOVED)})
}

func (f *Fake) Wait(_ context.Context, r *nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
	return unary(f, r, f.WaitFunc, &nucleusv1.WaitResponse{Exit: &nucleusv1.ExitStatus{Reason: "exited"}})
}

func (f *Fake) ExecSync(_ context.Context, r *nucleusv1.ExecSyncRequest) (*nucleusv1.ExecSyncResponse, error) {
	return unary(f, r, f.ExecSyncFunc, &nucleusv1.ExecSyncResponse{})
}

func (f *Fake) Pause(_ context.Context, r *nucleusv1.PauseRequest) (*nucleusv1.PauseResponse, error) {
	return unary(f, r, f.PauseFunc, &nucleusv1.PauseResponse{Container: Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_PAUSED)})
}

func (f *Fake) Resume(_ context.Context, r *nucleusv1.ResumeRequest) (*nucleusv1.ResumeResponse, error) {
	return unary(f, r, f.ResumeFunc, &nucleusv1.ResumeResponse{Container: Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_RUNNING)})
}

func (f *Fake) Update(_ context.Context, r *nucleusv1.UpdateRequest) (*nucleusv1.UpdateResponse, error) {
	return unary(f, r, f.UpdateFunc, &nucleusv1.UpdateResponse{Container: Container(r.GetId(), nucleusv1.ContainerState_CONTAINER_STATE_RUNNING)})
}

func (f *Fake) Version(_ context.Context, r *nucleusv1.VersionRequest) (*nucleusv1.VersionResponse, error) {
	return unary(f, r, f.VersionFunc, &nucleusv1.VersionResponse{Version: "fake", ApiVersion: "nucleus.v1"})
}

func (f *Fake) Info(_ context.Context, r *nucleusv1.InfoRequest) (*nucleusv1.InfoResponse, error) {
	return unary(f, r, f.InfoFunc, &nucleusv1.InfoResponse{})
}

// recording wraps a bidi stream so that every received message is recorded.
type recording[Req, Resp any] struct {
	grpc.BidiStreamingServer[Req, Resp]
	f *Fake
}

func (r recording[Req, Resp]) Recv() (*Req, error) {
	m, err := r.BidiStreamingServer.Recv()
	if err == nil {
		r.f.record(any(m).(proto.Message))
	}
	return m, err
}

func (f *Fake) Run(s grpc.BidiStreamingServer[nucleusv1.RunRequest, nucleusv1.RunResponse]) error {
	if f.RunFunc == nil {
		return nil
	}
	return f.RunFunc(recording[nucleusv1.RunRequest, nucleusv1.RunResponse]{s, f})
}

func (f *Fake) Exec(s grpc.BidiStreamingServer[nucleusv1.ExecRequest, nucleusv1.ExecResponse]) error {
	if f.ExecFunc == nil {
		return nil
	}
	return f.ExecFunc(recording[nucleusv1.ExecRequest, nucleusv1.ExecResponse]{s, f})
}

func (f *Fake) Logs(r *nucleusv1.LogsRequest, s grpc.ServerStreamingServer[nucleusv1.LogsResponse]) error {
	f.record(r)
	if f.LogsFunc == nil {
		return nil
	}
	return f.LogsFunc(r, s)
}

func (f *Fake) Stats(r *nucleusv1.StatsRequest, s grpc.ServerStreamingServer[nucleusv1.StatsResponse]) error {
	f.record(r)
	if f.StatsFunc == nil {
		return nil
	}
	return f.StatsFunc(r, s)
}

func (f *Fake) Events(r *nucleusv1.EventsRequest, s grpc.ServerStreamingServer[nucleusv1.EventsResponse]) error {
	f.record(r)
	if f.EventsFunc == nil {
		return nil
	}
	return f.EventsFunc(r, s)
}
