// Package metrics is nucleusd's Prometheus instrumentation: lifecycle and
// hook timings from the core, runsc errors, gRPC calls per method and
// code, containers by state, and an opt-in HTTP endpoint serving them.
package metrics
