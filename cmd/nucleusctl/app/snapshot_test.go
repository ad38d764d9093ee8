package app

import (
	"context"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client/clienttest"
	"nucleus.dev/nucleus/internal/errdefs"
)

// fakeSnapshots records the snapshot requests and answers canned ones.
type fakeSnapshots struct {
	nucleusv1.UnimplementedSnapshotsServiceServer
	mu   sync.Mutex
	reqs []any
}

func (f *fakeSnapshots) record(r any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
}

func (f *fakeSnapshots) Checkpoint(_ context.Context, r *nucleusv1.CheckpointRequest) (*nucleusv1.CheckpointResponse, error) {
	f.record(r)
	return &nucleusv1.CheckpointResponse{Snapshot: &nucleusv1.Snapshot{Id: strings.Repeat("5", 32), Name: r.GetName()}}, nil
}

func (f *fakeSnapshots) Restore(_ context.Context, r *nucleusv1.RestoreRequest) (*nucleusv1.RestoreResponse, error) {
	f.record(r)
	var out []*nucleusv1.Container
	for i := range max(r.GetCount(), 1) {
		out = append(out, &nucleusv1.Container{Id: strings.Repeat(string(rune('a'+i)), 32)})
	}
	return &nucleusv1.RestoreResponse{Containers: out}, nil
}

func (f *fakeSnapshots) ListSnapshots(context.Context, *nucleusv1.ListSnapshotsRequest) (*nucleusv1.ListSnapshotsResponse, error) {
	return &nucleusv1.ListSnapshotsResponse{Snapshots: []*nucleusv1.Snapshot{{
		Id: strings.Repeat("5", 32), Name: "warm", SourceName: "agent", SizeBytes: 3 << 20,
		CreatedAt: timestamppb.New(testNow.Add(-90e9)),
	}}}, nil
}

func (f *fakeSnapshots) RemoveSnapshot(_ context.Context, r *nucleusv1.RemoveSnapshotRequest) (*nucleusv1.RemoveSnapshotResponse, error) {
	f.record(r)
	if r.GetId() == "gone" {
		return nil, errdefs.ToGRPC(errdefs.NotFound("snapshot %q not found", r.GetId()))
	}
	return &nucleusv1.RemoveSnapshotResponse{}, nil
}

func TestSnapshotCommands(t *testing.T) {
	snaps := &fakeSnapshots{}
	f := &clienttest.Fake{Snapshots: snaps}
	r := cli(t, f, "checkpoint", "--leave-running", "agent", "warm")
	if r.code != 0 || r.stdout != strings.Repeat("5", 32)+"\n" {
		t.Fatalf("checkpoint: %+v", r)
	}
	r = cli(t, f, "restore", "--count", "3", "--name", "branch", "warm")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 {
		t.Fatalf("restore: %+v", r)
	}
	r = cli(t, f, "snapshot", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "SNAPSHOT ID") || !strings.Contains(r.stdout, "warm") || !strings.Contains(r.stdout, "agent") {
		t.Fatalf("snapshot ls: %+v", r)
	}
	r = cli(t, f, "snapshot", "rm", "warm", "gone")
	if r.code == 0 || r.stdout != "warm\n" || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("snapshot rm with one missing: %+v", r)
	}
	want := []proto.Message{
		&nucleusv1.CheckpointRequest{ContainerId: "agent", Name: "warm", LeaveRunning: true},
		&nucleusv1.RestoreRequest{SnapshotId: "warm", Name: "branch", Count: 3},
		&nucleusv1.RemoveSnapshotRequest{Id: "warm"}, &nucleusv1.RemoveSnapshotRequest{Id: "gone"},
	}
	if len(snaps.reqs) != len(want) {
		t.Fatalf("requests: %v", snaps.reqs)
	}
	for i, w := range want {
		if !proto.Equal(snaps.reqs[i].(proto.Message), w) {
			t.Errorf("request %d = %v, want %v", i, snaps.reqs[i], w)
		}
	}
}
