package server

import (
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// HealthServices returns the names the health service answers for: the
// server as a whole ("") and the Nucleus service ("nucleus.v1.Nucleus").
// Any other name is NOT_FOUND.
func HealthServices() []string {
	return []string{"", nucleusv1.Nucleus_ServiceDesc.ServiceName}
}

// newHealth returns a health server that reports every HealthServices name
// NOT_SERVING until SetServing.
func newHealth() *health.Server {
	hs := health.NewServer() // reports "" SERVING from the start
	SetServing(hs, false)
	return hs
}

// SetServing reports every HealthServices name SERVING or NOT_SERVING.
// The daemon serves once it has recovered its containers; at shutdown
// health.Server.Shutdown reports NOT_SERVING for good.
func SetServing(hs *health.Server, serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range HealthServices() {
		hs.SetServingStatus(name, st)
	}
}
