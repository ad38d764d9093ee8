package service

import (
	"context"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/core"
)

// NetworkService implements nucleusv1.NetworkServiceServer over a
// core.Daemon.
type NetworkService struct {
	nucleusv1.UnimplementedNetworkServiceServer
	d *core.Daemon
}

var _ nucleusv1.NetworkServiceServer = (*NetworkService)(nil)

// NewNetwork returns the network service.
func NewNetwork(d *core.Daemon) *NetworkService { return &NetworkService{d: d} }

// UpdateNetwork implements nucleusv1.NetworkServiceServer.
func (s *NetworkService) UpdateNetwork(ctx context.Context, req *nucleusv1.UpdateNetworkRequest) (*nucleusv1.UpdateNetworkResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.UpdateNetwork(ctx, id, req.GetId(), req.GetEgress())
	if err != nil {
		return nil, err
	}
	return &nucleusv1.UpdateNetworkResponse{Container: c}, nil
}
