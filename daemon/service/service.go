// Package service is the gRPC face of nucleusd: a thin forwarder that
// decodes requests, takes the caller's identity from the context and calls
// the lifecycle core. Errors keep their errdefs kinds; the server's
// interceptor converts them to gRPC codes in one place.
package service

import (
	"context"
	"os"
	"runtime"
	"sort"

	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/version"
)

// Service implements nucleusv1.NucleusServer over a core.Daemon.
type Service struct {
	nucleusv1.UnimplementedNucleusServer
	d        *core.Daemon
	cfg      *config.Config
	rootDir  string
	stateDir string
}

var _ nucleusv1.NucleusServer = (*Service)(nil)

// New returns the service.
func New(d *core.Daemon, cfg *config.Config, rootDir, stateDir string) *Service {
	return &Service{d: d, cfg: cfg, rootDir: rootDir, stateDir: stateDir}
}

func caller(ctx context.Context) (auth.Identity, error) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Identity{}, errdefs.PermissionDenied("caller has no verified identity")
	}
	return id, nil
}

// Create implements nucleusv1.NucleusServer.
func (s *Service) Create(ctx context.Context, req *nucleusv1.CreateRequest) (*nucleusv1.CreateResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Create(ctx, id, req.GetSpec(), core.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return &nucleusv1.CreateResponse{Container: c}, nil
}

// Start implements nucleusv1.NucleusServer.
func (s *Service) Start(ctx context.Context, req *nucleusv1.StartRequest) (*nucleusv1.StartResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Start(ctx, id, req.GetId())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.StartResponse{Container: c}, nil
}

// Get implements nucleusv1.NucleusServer.
func (s *Service) Get(ctx context.Context, req *nucleusv1.GetRequest) (*nucleusv1.GetResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Get(id, req.GetId())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.GetResponse{Container: c}, nil
}

// List implements nucleusv1.NucleusServer.
func (s *Service) List(ctx context.Context, req *nucleusv1.ListRequest) (*nucleusv1.ListResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var summary bool
	switch req.GetView() {
	case nucleusv1.ListView_LIST_VIEW_UNSPECIFIED, nucleusv1.ListView_LIST_VIEW_FULL:
	case nucleusv1.ListView_LIST_VIEW_SUMMARY:
		summary = true
	default:
		return nil, errdefs.InvalidArgument("list view %d is unknown: use LIST_VIEW_FULL or LIST_VIEW_SUMMARY", req.GetView())
	}
	return s.d.ListResponse(id, core.ListFilter{States: req.GetStates(), Labels: req.GetLabels(), Name: req.GetName(), Summary: summary,
		PageSize: int(min(req.GetPageSize(), core.MaxPageSize)), PageToken: req.GetPageToken()})
}

// Kill implements nucleusv1.NucleusServer.
func (s *Service) Kill(ctx context.Context, req *nucleusv1.KillRequest) (*nucleusv1.KillResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return &nucleusv1.KillResponse{}, s.d.Kill(ctx, id, req.GetId(), req.GetSignal())
}

// Stop implements nucleusv1.NucleusServer.
func (s *Service) Stop(ctx context.Context, req *nucleusv1.StopRequest) (*nucleusv1.StopResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	grace := defaultGrace
	if g := req.GetGracePeriod(); g != nil {
		if err := g.CheckValid(); err != nil {
			return nil, errdefs.InvalidArgument("grace_period: %v", err)
		}
		grace = g.AsDuration()
	}
	c, err := s.d.Stop(ctx, id, req.GetId(), req.GetSignal(), grace)
	if err != nil {
		return nil, err
	}
	return &nucleusv1.StopResponse{Container: c}, nil
}

// Delete implements nucleusv1.NucleusServer.
func (s *Service) Delete(ctx context.Context, req *nucleusv1.DeleteRequest) (*nucleusv1.DeleteResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Delete(ctx, id, req.GetId(), req.GetForce())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.DeleteResponse{Container: c}, nil
}

// Wait implements nucleusv1.NucleusServer.
func (s *Service) Wait(ctx context.Context, req *nucleusv1.WaitRequest) (*nucleusv1.WaitResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Wait(ctx, id, req.GetId())
	if err != nil {
		return nil, err
	}
	resp := &nucleusv1.WaitResponse{}
	if c.Exit != nil {
		resp.Exit = &nucleusv1.ExitStatus{ExitCode: c.Exit.Code, Signal: c.Exit.Signal, OomKilled: c.Exit.OOMKilled, Reason: c.Exit.Reason, Message: c.Exit.Message}
	}
	if !c.FinishedAt.IsZero() {
		resp.FinishedAt = timestamppb.New(c.FinishedAt)
	}
	return resp, nil
}

// Pause implements nucleusv1.NucleusServer.
func (s *Service) Pause(ctx context.Context, req *nucleusv1.PauseRequest) (*nucleusv1.PauseResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Pause(ctx, id, req.GetId())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.PauseResponse{Container: c}, nil
}

// Resume implements nucleusv1.NucleusServer.
func (s *Service) Resume(ctx context.Context, req *nucleusv1.ResumeRequest) (*nucleusv1.ResumeResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Resume(ctx, id, req.GetId())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.ResumeResponse{Container: c}, nil
}

// Update implements nucleusv1.NucleusServer.
func (s *Service) Update(ctx context.Context, req *nucleusv1.UpdateRequest) (*nucleusv1.UpdateResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Update(ctx, id, req.GetId(), req.GetResources())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.UpdateResponse{Container: c}, nil
}

// Version implements nucleusv1.NucleusServer.
func (s *Service) Version(ctx context.Context, _ *nucleusv1.VersionRequest) (*nucleusv1.VersionResponse, error) {
	return &nucleusv1.VersionResponse{
		Version: version.Version, Revision: version.Revision, RunscVersion: s.d.RunscVersion(),
		ApiVersion: "nucleus.v1", GoVersion: runtime.Version(),
	}, nil
}

// Info implements nucleusv1.NucleusServer.
func (s *Service) Info(ctx context.Context, _ *nucleusv1.InfoRequest) (*nucleusv1.InfoResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	counts, total, err := s.d.CountsFor(id)
	if err != nil {
		return nil, err
	}
	resp := &nucleusv1.InfoResponse{
		Platform: s.cfg.Runsc.Platform, DefaultNetwork: s.cfg.Runsc.Network, RootDir: s.rootDir, StateDir: s.stateDir,
		Containers: uint32(total), MaxContainers: uint32(s.cfg.Limits.MaxContainers),
		MaxContainersPerUid: uint32(s.cfg.Limits.MaxContainersPerUID), DefaultHookSet: s.cfg.Hooks.DefaultSet,
		RunscVersion: s.d.RunscVersion(), CallerUid: uint32(id.UID),
	}
	for st := nucleusv1.ContainerState_CONTAINER_STATE_CREATING; st <= nucleusv1.ContainerState_CONTAINER_STATE_EXITED; st++ {
		resp.StateCounts = append(resp.StateCounts, &nucleusv1.StateCount{State: st, Count: uint32(counts[st])})
	}
	for name := range s.cfg.Hooks.Sets {
		resp.HookSets = append(resp.HookSets, name)
	}
	sort.Strings(resp.HookSets)
	if resp.LatestEventSeq, err = s.d.LatestEventSeq(); err != nil {
		return nil, err
	}
	if id.Admin {
		resp.Goroutines = uint32(runtime.NumGoroutine())
		if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
			resp.OpenFds = uint32(len(fds))
		}
	}
	return resp, nil
}
