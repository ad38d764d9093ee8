// Package client is the Go SDK for nucleusd: one method per API operation,
// every error converted back to its errdefs kind, and the parsers that turn
// docker-style command-line values into API fields.
package client
