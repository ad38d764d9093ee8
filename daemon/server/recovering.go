package server

import (
	"context"
	"fmt"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// servedWhileRecovering are the calls answered before recovery ends: they
// read records and files and act on nothing. A container's record may
// still say running for a container that exited while nucleusd was down;
// its exit arrives as an event once recovery has looked at it.
func servedWhileRecovering(method string) bool {
	if isPublic(method) || strings.HasPrefix(method, "/grpc.reflection.") {
		return true
	}
	switch method {
	case "/nucleus.v1.Nucleus/Get", "/nucleus.v1.Nucleus/List", "/nucleus.v1.Nucleus/Version",
		"/nucleus.v1.Nucleus/Info", "/nucleus.v1.Nucleus/Events", "/nucleus.v1.Nucleus/Logs":
		return true
	}
	return false
}

// awaitRecovery holds every other call until ready is closed (nil means
// ready): a create or a stop must not race recovery's own decisions about
// the same containers. A caller that gives up first gets Unavailable.
func awaitRecovery(ctx context.Context, ready <-chan struct{}, method string) error {
	if ready == nil || servedWhileRecovering(method) {
		return nil
	}
	select {
	case <-ready:
		return nil
	default:
	}
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("nucleusd is still recovering its containers; only Get, List, Logs, Events, Info and Version are served until it finishes: %w", errdefs.ErrUnavailable)
	}
}
