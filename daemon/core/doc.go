// Package core is nucleusd's lifecycle core: it validates requests, keeps
// container records in the store, builds bundles, drives supervised
// sandboxes and the operator's hooks around the state machine
// (creating → created → running ⇄ paused → exited → removed), publishes
// events and recovers everything after a restart. It returns errdefs
// errors; only the gRPC service converts them.
package core
