package client

import (
	"context"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Serving reports whether the daemon has finished recovering its
// containers (its health check says SERVING). Before that, nucleusd
// answers reads (Get, List, Logs, Events, Info, Version) and holds every
// other call until recovery ends.
func (c *Client) Serving(ctx context.Context) (bool, error) {
	resp, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return false, c.fromGRPC(err)
	}
	return resp.GetStatus() == healthpb.HealthCheckResponse_SERVING, nil
}
