// Package server assembles nucleusd's gRPC server: the Nucleus service, the
// standard health and reflection services, and the interceptors every call
// passes through (panic recovery, request ids and access logs, caller
// authentication, error-code mapping).
package server
