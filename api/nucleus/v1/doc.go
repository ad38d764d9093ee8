// Package nucleusv1 is the v1 gRPC API of nucleusd: the Nucleus service, its
// request and response messages, and ContainerSpec, the one description of a
// container a client sends. The Go code is generated from nucleus.proto by
// `make generate` and checked in; v1 only ever gains fields, messages and
// RPCs, and a breaking change gets a v2 package beside it.
package nucleusv1
